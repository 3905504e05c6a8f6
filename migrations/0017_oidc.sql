-- Signing in with the school's Google or Microsoft account (OpenID Connect): the
-- provider's subject (`sub`) and issuer, stored with the person once they are first
-- matched by a verified email address, so a changed email does not break the link.
-- A subject is unique within its issuer, so the pair is unique: one subject is never
-- linked to two people.
alter table person add column oidc_issuer text;
alter table person add column oidc_subject text;
create unique index person_oidc_subject on person (oidc_issuer, oidc_subject)
    where oidc_subject is not null;
-- first sign-in matches by email address, case ignored
create index person_email on person (email collate nocase);
