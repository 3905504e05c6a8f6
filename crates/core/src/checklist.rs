//! Return checklists: per kind of device, the questions the business manager wants
//! asked when one comes back ("Charger returned?", "Screen undamaged?"). A question
//! marked as about damage, answered "no", opens a damage report.
//!
//! Questions are written one a line; a line ending in `[damage]` is about damage.
//! Every question is a yes/no question whose "yes" is the good answer.

use std::collections::BTreeMap;

use crate::device::DeviceKind;
use crate::invalid::Invalid;

/// The marker at the end of a question about damage.
pub const DAMAGE_MARK: &str = "[damage]";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub text: String,
    /// A "no" means the device is damaged.
    pub damage: bool,
}

/// Reads one kind's questions, one a line.
pub fn parse_questions(text: &str) -> Result<Vec<Question>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (text, damage) = match line.strip_suffix(DAMAGE_MARK) {
            Some(t) => (t.trim(), true),
            None => (line, false),
        };
        if text.is_empty() {
            return Err(format!(
                "Line {}: write the question before {DAMAGE_MARK}.",
                n + 1
            ));
        }
        if text.chars().count() > 120 {
            return Err(format!(
                "Line {}: a question must be 120 characters or fewer.",
                n + 1
            ));
        }
        out.push(Question {
            text: text.to_owned(),
            damage,
        });
    }
    if out.len() > MAX_QUESTIONS {
        return Err(format!(
            "Ask at most {MAX_QUESTIONS} questions for one kind of device."
        ));
    }
    Ok(out)
}

/// The questions as the form shows them, one a line.
pub fn questions_text(questions: &[Question]) -> String {
    questions
        .iter()
        .map(|q| {
            if q.damage {
                format!("{} {DAMAGE_MARK}", q.text)
            } else {
                q.text.clone()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every kind's questions as typed into the checklist form, by the kind's word.
/// Keyed by the kind's word (`ipad`).
pub fn parse_all(
    typed: &BTreeMap<String, String>,
) -> Result<BTreeMap<&'static str, Vec<Question>>, Invalid> {
    let mut invalid = Invalid::new();
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for kind in DeviceKind::ALL {
        let text = typed.get(kind.as_str()).map(String::as_str).unwrap_or("");
        match parse_questions(text) {
            Ok(q) => {
                out.insert(kind.as_str(), q);
            }
            Err(e) => errors.push(format!("{}: {e}", kind.label())),
        }
    }
    if !errors.is_empty() {
        invalid.add("checklist", errors.join(" "));
    }
    invalid.into_result()?;
    Ok(out)
}

/// Why the answers were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChecklistRefusal {
    #[error("Answer every question on the return checklist: “{0}”.")]
    Unanswered(String),
    #[error("You answered no to “{0}”: type the tag of each device it is about, so its damage report names it.")]
    WhichDevice(String),
    #[error("{tag} is not one of this kind that came back, so the answer to “{question}” cannot be about it.")]
    NotBack { tag: String, question: String },
}

impl ChecklistRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            ChecklistRefusal::Unanswered(_) => "checklist-unanswered",
            ChecklistRefusal::WhichDevice(_) | ChecklistRefusal::NotBack { .. } => {
                "checklist-which-device"
            }
        }
    }
}

/// The most questions one kind's checklist may ask.
pub const MAX_QUESTIONS: usize = 12;

/// The field (form and API) of each question's answer, by its place in the list.
const ANSWER_FIELDS: [&str; MAX_QUESTIONS] = [
    "checklist.0",
    "checklist.1",
    "checklist.2",
    "checklist.3",
    "checklist.4",
    "checklist.5",
    "checklist.6",
    "checklist.7",
    "checklist.8",
    "checklist.9",
    "checklist.10",
    "checklist.11",
];

/// The field of the answer to question `i` (from 0): `checklist.2`.
pub fn answer_field(i: usize) -> &'static str {
    ANSWER_FIELDS.get(i).copied().unwrap_or("checklist")
}

/// Every question left without a yes or no, each with its place in the list, so
/// that all of them are shown at once.
pub fn unanswered(
    questions: &[Question],
    answers: &[Option<bool>],
) -> Vec<(usize, ChecklistRefusal)> {
    questions
        .iter()
        .enumerate()
        .filter(|(i, _)| answers.get(*i).copied().flatten().is_none())
        .map(|(i, q)| (i, ChecklistRefusal::Unanswered(q.text.clone())))
        .collect()
}

/// Checks that every question has a yes or no, and returns the damage questions
/// answered "no", which open a damage report.
pub fn check_answers<'a>(
    questions: &'a [Question],
    answers: &[Option<bool>],
) -> Result<Vec<&'a Question>, ChecklistRefusal> {
    let mut damage = Vec::new();
    for (i, q) in questions.iter().enumerate() {
        match answers.get(i).copied().flatten() {
            None => return Err(ChecklistRefusal::Unanswered(q.text.clone())),
            Some(false) if q.damage => damage.push(q),
            Some(_) => {}
        }
    }
    Ok(damage)
}

/// A set's return asks each kind's questions once. A "no" to a damage question
/// must say which of the devices of that kind that came back it is about (typed
/// as tags, separated by commas or spaces); when only one came back it is that one.
/// Returns, for each damaged device's tag (as `back` spells it), its damage questions.
pub fn check_set_answers<'a>(
    questions: &'a [Question],
    answers: &[Option<bool>],
    which: &[String],
    back: &[String],
) -> Result<BTreeMap<String, Vec<&'a Question>>, ChecklistRefusal> {
    let damage = check_answers(questions, answers)?;
    let mut out: BTreeMap<String, Vec<&'a Question>> = BTreeMap::new();
    for q in damage {
        let i = questions
            .iter()
            .position(|x| std::ptr::eq(x, q))
            .unwrap_or_default();
        for t in damaged_devices(q, which.get(i).map(String::as_str).unwrap_or(""), back)? {
            out.entry(t).or_default().push(q);
        }
    }
    Ok(out)
}

/// Every problem with one kind's answers on a set's return, each with its
/// question's place in the list, so that all of them are shown at once: each
/// question left unanswered ([`unanswered`]), and each "no" about damage that does
/// not say which of the devices that came back it is about (the rule of
/// [`check_set_answers`]).
pub fn set_answer_problems(
    questions: &[Question],
    answers: &[Option<bool>],
    which: &[String],
    back: &[String],
) -> Vec<(usize, ChecklistRefusal)> {
    let mut out = unanswered(questions, answers);
    for (i, q) in questions.iter().enumerate() {
        if q.damage && answers.get(i).copied().flatten() == Some(false) {
            let typed = which.get(i).map(String::as_str).unwrap_or("");
            if let Err(r) = damaged_devices(q, typed, back) {
                out.push((i, r));
            }
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out
}

/// The devices a "no" to the damage question `q` is about: the tags `typed` (as
/// `back` spells them), or the one device that came back when none is typed.
fn damaged_devices(
    q: &Question,
    typed: &str,
    back: &[String],
) -> Result<Vec<String>, ChecklistRefusal> {
    let mut tags: Vec<String> = Vec::new();
    for t in typed
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
    {
        match back.iter().find(|b| b.eq_ignore_ascii_case(t)) {
            Some(b) if !tags.contains(b) => tags.push(b.clone()),
            Some(_) => {}
            None => {
                return Err(ChecklistRefusal::NotBack {
                    tag: t.to_owned(),
                    question: q.text.clone(),
                })
            }
        }
    }
    if tags.is_empty() {
        match back {
            [only] => tags.push(only.clone()),
            _ => return Err(ChecklistRefusal::WhichDevice(q.text.clone())),
        }
    }
    Ok(tags)
}

/// The fields of a set's answers, kind by kind and question by question: the
/// answer's and the tags' it is about, named as the API's body has them.
static SET_FIELDS: std::sync::LazyLock<Vec<(String, String)>> = std::sync::LazyLock::new(|| {
    DeviceKind::ALL
        .iter()
        .flat_map(|k| {
            (0..MAX_QUESTIONS).map(move |i| {
                (
                    format!("checklist.{}.answers.{i}", k.as_str()),
                    format!("checklist.{}.devices.{i}", k.as_str()),
                )
            })
        })
        .collect()
});

fn set_fields(kind: DeviceKind, i: usize) -> Option<&'static (String, String)> {
    let k = DeviceKind::ALL.iter().position(|x| *x == kind)?;
    (i < MAX_QUESTIONS)
        .then(|| SET_FIELDS.get(k * MAX_QUESTIONS + i))
        .flatten()
}

/// The field of the answer to question `i` (from 0) of `kind` on a set's return:
/// `checklist.ipad.answers.2`.
pub fn set_answer_field(kind: DeviceKind, i: usize) -> &'static str {
    set_fields(kind, i).map_or("checklist", |f| f.0.as_str())
}

/// The field of the tags a "no" to question `i` of `kind` is about, on a set's
/// return: `checklist.ipad.devices.2`.
pub fn set_devices_field(kind: DeviceKind, i: usize) -> &'static str {
    set_fields(kind, i).map_or("checklist", |f| f.1.as_str())
}

/// The damage report's description, pre-filled from the "no" answers.
pub fn damage_description(tag: &str, damage: &[&Question]) -> String {
    let list: Vec<String> = damage
        .iter()
        .map(|q| format!("“{}” — no", q.text))
        .collect();
    format!(
        "On return of {tag}, the return checklist found damage: {}.",
        list.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_read_back_and_a_damage_mark_is_kept() {
        let q = parse_questions(
            "Charger returned?\n\n Screen undamaged? [damage]\nDoes it switch on? [damage]",
        )
        .unwrap();
        assert_eq!(q.len(), 3);
        assert!(!q[0].damage && q[1].damage);
        assert_eq!(q[1].text, "Screen undamaged?");
        assert_eq!(parse_questions(&questions_text(&q)).unwrap(), q);
        assert!(parse_questions("[damage]")
            .unwrap_err()
            .starts_with("Line 1:"));
    }

    /// Three questions left blank would be asked about one per round trip.
    #[test]
    fn every_unanswered_question_is_named_with_its_field() {
        let q = parse_questions(
            "Charger returned?\nCase returned?\nScreen undamaged? [damage]\nClean?",
        )
        .unwrap();
        let left = unanswered(&q, &[None, Some(true)]);
        assert_eq!(
            left.iter()
                .map(|(i, _)| answer_field(*i))
                .collect::<Vec<_>>(),
            vec!["checklist.0", "checklist.2", "checklist.3"]
        );
        assert_eq!(
            left[1].1.to_string(),
            "Answer every question on the return checklist: “Screen undamaged?”."
        );
        assert!(unanswered(&q, &[Some(true), Some(false), Some(false), Some(true)]).is_empty());
    }

    #[test]
    fn a_no_to_a_damage_question_is_damage_and_every_question_needs_an_answer() {
        let q = parse_questions("Charger returned?\nScreen undamaged? [damage]").unwrap();
        assert_eq!(
            check_answers(&q, &[Some(false), Some(true)]).unwrap().len(),
            0,
            "a missing charger is not damage"
        );
        let damage = check_answers(&q, &[Some(true), Some(false)]).unwrap();
        assert_eq!(damage.len(), 1);
        assert_eq!(
            damage_description("IPAD-7", &damage),
            "On return of IPAD-7, the return checklist found damage: “Screen undamaged?” — no."
        );
        assert_eq!(
            check_answers(&q, &[Some(true)]),
            Err(ChecklistRefusal::Unanswered("Screen undamaged?".into()))
        );
    }

    /// A set's return with two questions blank and a "no" naming no iPad was
    /// refused one problem at a time.
    #[test]
    fn every_problem_with_a_sets_answers_is_named_at_once_with_its_field() {
        let q = parse_questions(
            "Charger returned?\nCase returned?\nScreen undamaged? [damage]\nSwitches on? [damage]",
        )
        .unwrap();
        let back = vec!["IPAD-1".to_owned(), "IPAD-2".into()];
        let which = ["".to_owned(), "".into(), "".into(), "IPAD-9".into()];
        let problems = set_answer_problems(
            &q,
            &[None, Some(true), Some(false), Some(false)],
            &which,
            &back,
        );
        assert_eq!(
            problems,
            vec![
                (0, ChecklistRefusal::Unanswered("Charger returned?".into())),
                (2, ChecklistRefusal::WhichDevice("Screen undamaged?".into())),
                (
                    3,
                    ChecklistRefusal::NotBack {
                        tag: "IPAD-9".into(),
                        question: "Switches on?".into()
                    }
                ),
            ]
        );
        let fine = ["".to_owned(), "".into(), "ipad-2".into(), "IPAD-1".into()];
        assert!(set_answer_problems(
            &q,
            &[Some(true), Some(true), Some(false), Some(false)],
            &fine,
            &back
        )
        .is_empty());
        assert_eq!(
            set_answer_field(DeviceKind::Ipad, 2),
            "checklist.ipad.answers.2"
        );
        assert_eq!(
            set_devices_field(DeviceKind::Camera, 11),
            "checklist.camera.devices.11"
        );
        assert_eq!(
            set_answer_field(DeviceKind::Ipad, MAX_QUESTIONS),
            "checklist"
        );
    }

    #[test]
    fn a_sets_no_about_damage_names_the_devices_it_is_about() {
        let q = parse_questions("Charger returned?\nScreen undamaged? [damage]").unwrap();
        let back = vec!["IPAD-1".to_owned(), "IPAD-2".into(), "IPAD-3".into()];
        let none = ["".to_owned(), "".into()];
        assert!(
            check_set_answers(&q, &[Some(false), Some(true)], &none, &back)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            check_set_answers(&q, &[Some(true), Some(false)], &none, &back),
            Err(ChecklistRefusal::WhichDevice("Screen undamaged?".into()))
        );
        let which = ["".to_owned(), "ipad-2, IPAD-3".into()];
        let damaged = check_set_answers(&q, &[Some(true), Some(false)], &which, &back).unwrap();
        assert_eq!(damaged.keys().collect::<Vec<_>>(), vec!["IPAD-2", "IPAD-3"]);
        let stray = ["".to_owned(), "IPAD-9".into()];
        assert!(matches!(
            check_set_answers(&q, &[Some(true), Some(false)], &stray, &back),
            Err(ChecklistRefusal::NotBack { .. })
        ));
        // one device of the kind came back: the answer is about it
        let one = vec!["CAM-1".to_owned()];
        let damaged = check_set_answers(&q, &[Some(true), Some(false)], &none, &one).unwrap();
        assert_eq!(damaged.keys().collect::<Vec<_>>(), vec!["CAM-1"]);
    }
}
