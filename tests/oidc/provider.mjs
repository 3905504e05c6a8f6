// A real OpenID provider for Kitroom's sign-in tests: panva's oidc-provider (a
// certified OpenID Connect implementation), on a random loopback port.
//
// Started by the test harness (tests/src/oidc.rs) as `node provider.mjs`, with
//   REDIRECT_URI  Kitroom's callback address, http://127.0.0.1:PORT/sign-in/oidc/callback
// It prints one line, `issuer http://127.0.0.1:PORT`, once it listens, and exits when
// its standard input closes (the test process has ended).
//
// The static client is `kitroom-test` with secret `kitroom-test-secret`. A minimal
// login page stands in for the school's: any password is accepted for the accounts
// below, and consent is given at once. Test-only:
//   POST /test/account?id=ID  {claims}  changes a test account (its email, say)
//   POST /test/forge  {claims}  the next token answer's ID token has these claims
//     changed, re-signed with the provider's own key (an expired token, another
//     audience, another issuer, another nonce: each is then a token the provider's
//     published key verifies, wrong only in what the test changed).
import http from 'node:http';
import { generateKeyPair, exportJWK, SignJWT, decodeJwt } from 'jose';
import Provider from 'oidc-provider';

// The test people, by what they type at the provider's login page.
const ACCOUNTS = {
  // A member of staff whose email Kitroom knows.
  ada: { email: 'ada@school.example', email_verified: true, name: 'Ada Lovelace', amr: ['pwd'] },
  // One who used a second factor at the provider.
  grace: { email: 'grace@school.example', email_verified: true, name: 'Grace Hopper', amr: ['pwd', 'mfa'] },
  // An address the provider has not verified.
  unverified: { email: 'ada@school.example', email_verified: false, name: 'Not Ada', amr: ['pwd'] },
  // Verified, but of another domain.
  foreign: { email: 'ada@elsewhere.example', email_verified: true, name: 'Ada Elsewhere', amr: ['pwd'] },
  // Of the school's domain, unknown to Kitroom.
  stranger: { email: 'new.teacher@school.example', email_verified: true, name: 'New Teacher', amr: ['pwd'] },
};

const redirectUri = process.env.REDIRECT_URI;
if (!redirectUri) {
  console.error('REDIRECT_URI is not set');
  process.exit(2);
}

const { privateKey } = await generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };

let forge = null;

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'kitroom-test',
    client_secret: 'kitroom-test-secret',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [jwk] },
  claims: {
    // amr (how the person signed in) in every ID token, as Entra's v1 tokens have it
    openid: ['sub', 'amr'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  // As Google and Microsoft do: the email claims in the ID token itself.
  conformIdTokenClaims: false,
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, id) {
    const a = ACCOUNTS[id];
    if (!a) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: a.email, email_verified: a.email_verified, name: a.name };
      },
    };
  },
});
// Plain http on loopback only: the provider is told it is behind nothing.
provider.proxy = false;

const page = (uid, message = '') => `<!doctype html><html><head><title>School sign-in</title></head><body>
<h1>Sign in to the school</h1>${message ? `<p id="message">${message}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
<label>Username <input name="login" id="login" autocomplete="username"></label>
<label>Password <input name="password" id="password" type="password"></label>
<button type="submit" id="submit">Sign in</button>
</form></body></html>`;

const readForm = (req) => new Promise((resolve, reject) => {
  let body = '';
  req.on('data', (c) => { body += c; if (body.length > 10000) reject(new Error('too long')); });
  req.on('end', () => resolve(new URLSearchParams(body)));
  req.on('error', reject);
});

async function forged(body) {
  const answer = JSON.parse(body);
  if (!answer.id_token) return body;
  const claims = { ...decodeJwt(answer.id_token), ...forge };
  forge = null;
  answer.id_token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: jwk.kid })
    .sign(privateKey);
  return JSON.stringify(answer);
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    const m = url.pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
    if (req.method === 'POST' && url.pathname === '/test/account' && ACCOUNTS[url.searchParams.get('id')]) {
      const body = await new Promise((resolve) => { let b = ''; req.on('data', (c) => { b += c; }); req.on('end', () => resolve(b)); });
      Object.assign(ACCOUNTS[url.searchParams.get('id')], JSON.parse(body));
      res.writeHead(204).end();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/test/forge') {
      const body = await new Promise((resolve) => { let b = ''; req.on('data', (c) => { b += c; }); req.on('end', () => resolve(b)); });
      forge = JSON.parse(body);
      res.writeHead(204).end();
      return;
    }
    if (m && req.method === 'GET' && !m[2]) {
      const details = await provider.interactionDetails(req, res);
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(details.uid));
      return;
    }
    if (m && req.method === 'POST' && m[2]) {
      const details = await provider.interactionDetails(req, res);
      const form = await readForm(req);
      const id = form.get('login') ?? '';
      const account = ACCOUNTS[id];
      if (!account || !form.get('password')) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(details.uid, 'Unknown account'));
        return;
      }
      const grant = new provider.Grant({ accountId: id, clientId: details.params.client_id });
      grant.addOIDCScope(details.params.scope);
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, {
        login: { accountId: id, amr: account.amr },
        consent: { grantId },
      }, { mergeWithLastSubmission: false });
      return;
    }
    if (forge && req.method === 'POST' && url.pathname === '/token') {
      // Catch the token endpoint's answer and change its ID token.
      const chunks = [];
      const write = res.write.bind(res);
      const end = res.end.bind(res);
      res.write = (c) => { chunks.push(Buffer.from(c)); return true; };
      res.end = (c) => {
        if (c) chunks.push(Buffer.from(c));
        forged(Buffer.concat(chunks).toString()).then((b) => {
          res.removeHeader('content-length');
          res.setHeader('content-length', Buffer.byteLength(b));
          write(b);
          end();
        }, (e) => { console.error(e); end(); });
        return res;
      };
    }
    callback(req, res);
  } catch (e) {
    console.error(e);
    if (!res.headersSent) res.writeHead(500).end(String(e));
  }
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
console.log(`issuer ${issuer}`);
