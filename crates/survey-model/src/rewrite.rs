//! Erasure by rewrite. Automerge keeps every value a document ever held in
//! its history, so removing an answer by a change leaves the old value in
//! the earlier changes. To erase personal data for good, the server makes a
//! new document from the current state — one change, by the server's actor,
//! that creates every container and value except the erased answers (and
//! except values that lost a concurrent write) — and replaces the old
//! document and all its changes with it. The erased answers are named (never
//! their values) in `review.erased`, with `review.erased_at`; the write policy
//! refuses a device that writes one of them again.
//!
//! A device that still holds the old document replaces it with the new one
//! and re-makes on top of it what it did after the last state the server
//! acknowledged ([`Interview::rebased_onto`]): its unsynced answers, status
//! and comments survive, its edits to erased answers do not.

use automerge::hydrate;
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ChangeHash, ObjType, ROOT, ReadDoc};

use crate::interview::{Interview, ModelError};
use crate::reauthor::{append_new_comments, copy_key};

/// Separator of the names in `review.erased`.
const SEP: char = ',';

impl Interview {
    /// A new document holding this interview's current state without the
    /// answers `erase` (and without its comments when `drop_comments`: the
    /// whole interview erased) and without history: one change by `actor`.
    /// Records the erased names (added to any earlier ones) and when.
    pub fn rewritten(
        &self,
        erase: &[&str],
        drop_comments: bool,
        actor: ActorId,
    ) -> Result<Interview, ModelError> {
        let src = self.doc();
        let mut dst = AutoCommit::new();
        dst.set_actor(actor);
        for key in src.keys(ROOT).collect::<Vec<_>>() {
            if key == "answers" {
                let answers = dst.put_object(ROOT, "answers", ObjType::Map)?;
                let keys: Vec<String> = src.keys(&self.answers).collect();
                for k in keys.iter().filter(|k| !erase.contains(&k.as_str())) {
                    copy_key(src, &self.answers, k, &mut dst, &answers)?;
                }
            } else if key == "comments" && drop_comments {
                dst.put_object(ROOT, "comments", ObjType::List)?;
            } else {
                copy_key(src, &ROOT, &key, &mut dst, &ROOT)?;
            }
        }
        let mut names = self.erased_answers();
        for n in erase {
            if !names.iter().any(|e| e == n) {
                names.push((*n).to_owned());
            }
        }
        names.sort();
        let review = match dst.get(ROOT, "review")? {
            Some((automerge::Value::Object(ObjType::Map), id)) => id,
            _ => dst.put_object(ROOT, "review", ObjType::Map)?,
        };
        let sep = SEP.to_string();
        dst.put(&review, "erased", names.join(&sep))?;
        dst.put(&review, "erased_at", crate::interview::now().0)?;
        crate::interview::commit(&mut dst, None);
        Interview::from_doc(dst, Some(self.id()))
    }

    /// The names of every answer the document holds.
    pub fn answer_names(&self) -> Vec<String> {
        self.doc().keys(&self.answers).collect()
    }

    /// The answers erased on request so far (by name, never by value).
    pub fn erased_answers(&self) -> Vec<String> {
        self.str_at(&self.review, "erased")
            .map(|s| {
                s.split(SEP)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// This copy rebased onto `replacement`, the server's rewrite of the same
    /// interview: what this copy changed after `base` (the server heads it
    /// had acknowledged; empty when it had none, so everything is its own)
    /// is made again by `actor` on top of the replacement, as one change —
    /// answers, status and new comments, the parts a device writes — except
    /// writes to answers the replacement says were erased.
    pub fn rebased_onto(
        &self,
        base: &[ChangeHash],
        replacement: &Interview,
        actor: ActorId,
    ) -> Result<Interview, ModelError> {
        let src = self.doc();
        let base: Option<&[ChangeHash]> =
            (!base.is_empty() && self.clone().has_all(base)).then_some(base);
        let erased = replacement.erased_answers();
        let mut dst = replacement.doc().clone();
        dst.set_actor(actor);
        let dst_answers = match dst.get(ROOT, "answers")? {
            Some((automerge::Value::Object(ObjType::Map), id)) => id,
            _ => {
                return Err(ModelError::Malformed(
                    "the replacement has no answers".into(),
                ));
            }
        };
        let now = src.hydrate(&self.answers, None)?;
        let then = match base {
            Some(h) => src.hydrate(&self.answers, Some(h))?,
            None => hydrate::Value::map(),
        };
        let (hydrate::Value::Map(now), hydrate::Value::Map(then)) = (now, then) else {
            return Err(ModelError::Malformed("answers is not a map".into()));
        };
        let mut keys: Vec<&String> = now.iter().map(|(k, _)| k).collect();
        keys.extend(then.iter().map(|(k, _)| k));
        keys.sort();
        keys.dedup();
        for k in keys {
            if erased.iter().any(|e| e == k) || now.get(k) == then.get(k) {
                continue;
            }
            copy_key(src, &self.answers, k, &mut dst, &dst_answers)?;
        }
        for key in ["status", "submitted_at"] {
            let changed = match base {
                Some(h) => {
                    src.get_at(ROOT, key, h)?.map(|(v, _)| v.to_string())
                        != src.get(ROOT, key)?.map(|(v, _)| v.to_string())
                }
                None => true,
            };
            if changed {
                copy_key(src, &ROOT, key, &mut dst, &ROOT)?;
            }
        }
        append_new_comments(src, &mut dst)?;
        crate::interview::commit(&mut dst, None);
        Interview::from_doc(dst, Some(self.id()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;
    use uuid::Uuid;

    fn interview() -> (crate::Form, Interview) {
        let (form, mut iv) = crate::reauthor::tests::interview();
        iv.set_answer_json(&form, "consent", &json!(true)).unwrap();
        iv.set_answer_json(&form, "customer_name", &json!("Mariam Sangare"))
            .unwrap();
        iv.set_answer_json(&form, "customer_name", &json!("Mariam Sangaré"))
            .unwrap();
        iv.set_answer_json(&form, "customer_phone", &json!("+225 07 11 22 33"))
            .unwrap();
        iv.set_answer_json(&form, "city", &json!("Bouaké")).unwrap();
        iv.add_comment("u1", "Awa", "employee", "client pressé")
            .unwrap();
        (form, iv)
    }

    /// The document as it stood after each change of its history, as text:
    /// every value it ever held is in there.
    fn history_text(iv: &Interview) -> String {
        let mut doc = iv.doc().clone();
        let hashes: Vec<ChangeHash> = doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
        hashes
            .iter()
            .map(|h| format!("{:?}", doc.hydrate(ROOT, Some(&[*h])).unwrap()))
            .collect()
    }

    #[test]
    fn a_rewrite_keeps_the_state_but_not_the_erased_answers_nor_any_history() {
        let (form, iv) = interview();
        assert!(history_text(&iv).contains("Mariam Sangare"), "control");
        let server = crate::actor_from_uuid(Uuid::new_v4());
        let mut new = iv
            .rewritten(&["customer_name", "customer_phone"], false, server.clone())
            .unwrap();
        let text = history_text(&new);
        for gone in ["Mariam", "+225 07 11 22 33"] {
            assert!(!text.contains(gone), "{gone} in the new history");
        }
        assert_eq!(new.doc().clone().get_changes(&[]).len(), 1);
        assert_eq!(*new.doc().clone().get_changes(&[])[0].actor_id(), server);
        let (a, b) = (iv.clone().project(Some(&form)), new.project(Some(&form)));
        assert_eq!(b.answers.get("city"), a.answers.get("city"));
        assert!(!b.answers.contains_key("customer_name"));
        assert_eq!(b.comment_count, 1);
        assert_eq!(new.meta(), iv.meta());
        assert_eq!(new.erased_answers(), ["customer_name", "customer_phone"]);
        // A second erasure adds to the names.
        let again = new.rewritten(&["city"], true, server).unwrap();
        assert_eq!(
            again.erased_answers(),
            ["city", "customer_name", "customer_phone"]
        );
        assert!(
            again.comments().is_empty(),
            "the whole interview: no comments"
        );
    }

    #[test]
    fn a_device_rebases_its_unsynced_edits_onto_the_rewrite_except_erased_answers() {
        let (form, mut device) = interview();
        let acked = device.heads();
        let mut server = device
            .rewritten(
                &["customer_name", "customer_phone"],
                false,
                crate::actor_from_uuid(Uuid::new_v4()),
            )
            .unwrap();
        // Offline, unaware of the erasure: the interviewer edits on.
        device.set_answer_json(&form, "nps", &json!(3)).unwrap();
        device
            .set_answer_json(&form, "customer_phone", &json!("+225 01 99 99 99"))
            .unwrap();
        device
            .add_comment("u1", "Awa", "employee", "rappel demain")
            .unwrap();
        let actor = crate::actor_from_uuid(Uuid::new_v4());
        let mut rebased = device.rebased_onto(&acked, &server, actor.clone()).unwrap();
        let rec = rebased.project(Some(&form));
        assert_eq!(rec.answers.get("nps").and_then(|v| v.as_i64()), Some(3));
        assert_eq!(rec.answers.get("city"), Some(&json!("Bouaké")));
        assert!(
            !rec.answers.contains_key("customer_phone"),
            "erased stays erased"
        );
        assert!(!rec.answers.contains_key("customer_name"));
        assert_eq!(rec.comment_count, 2);
        let text = history_text(&rebased);
        assert!(!text.contains("Mariam") && !text.contains("+225"));
        // The server's document plus one change by the device.
        let after = rebased.changes_since(&server.heads());
        assert_eq!(after.len(), 1);
        assert_eq!(*after[0].actor_id(), actor);
        // Nothing unsynced: the rebase is the replacement itself, plus an
        // empty commit at most.
        let mut quiet = server.clone();
        let heads = server.heads();
        let same = server.rebased_onto(&heads, &server, actor).unwrap();
        assert_eq!(
            quiet.project(Some(&form)).answers,
            same.clone().project(Some(&form)).answers
        );
    }

    #[test]
    fn the_write_policy_refuses_a_device_writing_an_erased_answer_again() {
        let (form, iv) = interview();
        let server = iv
            .rewritten(
                &["customer_phone"],
                false,
                crate::actor_from_uuid(Uuid::new_v4()),
            )
            .unwrap();
        let device = crate::policy::Writer::Device {
            user_id: "u1",
            user_name: "Awa",
        };
        let mut again = server.clone();
        again.set_actor(crate::actor_from_uuid(Uuid::new_v4()));
        again
            .set_answer_json(&form, "customer_phone", &json!("+225 05 55 55 55"))
            .unwrap();
        let v = crate::check_write(Some(&server), &again, device).unwrap_err();
        assert_eq!(v.path, "answers.customer_phone");
        assert!(v.rule.contains("erased"), "{v}");
        // Other answers stay the device's to write.
        let mut fine = server.clone();
        fine.set_answer_json(&form, "nps", &json!(9)).unwrap();
        crate::check_write(Some(&server), &fine, device).unwrap();
    }
}
