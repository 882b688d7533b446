//! Re-authoring a device's unacknowledged changes with a new actor, after the
//! server found the device's actor in use elsewhere (a copied or restored
//! store). The changes the server acknowledged (`base`) are kept as they are;
//! what the device did after them is made again, as one change by the new
//! actor, from the document's current state: answers, status and the
//! device's new comments (the parts a device may write, see
//! [`crate::policy`]). A document the server never acknowledged is rebuilt
//! whole, its first change by the new actor creating every container.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ChangeHash, ObjId, ObjType, ROOT, ReadDoc, Value};

use crate::interview::{Interview, ModelError};

impl Interview {
    /// A copy of this interview whose changes after `base` are re-made by
    /// `actor` (see the module docs). `base` must be in the document, or empty.
    pub fn reauthor(&self, base: &[ChangeHash], actor: ActorId) -> Result<Interview, ModelError> {
        let src = self.doc();
        let mut src_doc = src.clone();
        let mut dst = if base.is_empty() {
            AutoCommit::new()
        } else {
            src_doc.fork_at(base)?
        };
        dst.set_actor(actor);
        if base.is_empty() {
            for key in src.keys(ROOT).collect::<Vec<_>>() {
                copy_key(src, &ROOT, &key, &mut dst, &ROOT)?;
            }
        } else {
            for key in ["status", "submitted_at", "answers"] {
                copy_key(src, &ROOT, key, &mut dst, &ROOT)?;
            }
            append_new_comments(src, &mut dst)?;
        }
        crate::interview::commit(&mut dst, None);
        Interview::from_doc(dst, Some(self.id()))
    }
}

/// Make `dst[key]` equal `src[key]` (the winning value), reusing containers
/// of the same type that `dst` already has so other writers' edits merge.
pub(crate) fn copy_key(
    src: &AutoCommit,
    sobj: &ObjId,
    key: &str,
    dst: &mut AutoCommit,
    dobj: &ObjId,
) -> Result<(), ModelError> {
    match src.get(sobj, key)? {
        None => {
            if dst.get(dobj, key)?.is_some() {
                dst.delete(dobj, key)?;
            }
        }
        Some((Value::Scalar(s), _)) => {
            let same = matches!(dst.get(dobj, key)?, Some((Value::Scalar(d), _)) if *d == *s)
                && dst.get_all(dobj, key)?.len() == 1;
            if !same {
                dst.put(dobj, key, s.into_owned())?;
            }
        }
        Some((Value::Object(ty), sid)) => {
            let did = match dst.get(dobj, key)? {
                Some((Value::Object(t), id)) if t == ty => id,
                _ => dst.put_object(dobj, key, ty)?,
            };
            copy_object(src, &sid, ty, dst, &did)?;
        }
    }
    Ok(())
}

fn copy_object(
    src: &AutoCommit,
    sid: &ObjId,
    ty: ObjType,
    dst: &mut AutoCommit,
    did: &ObjId,
) -> Result<(), ModelError> {
    match ty {
        ObjType::Map | ObjType::Table => {
            let skeys: Vec<String> = src.keys(sid).collect();
            let dkeys: Vec<String> = dst.keys(did).collect();
            for k in dkeys.iter().filter(|k| !skeys.contains(k)) {
                dst.delete(did, k.as_str())?;
            }
            for k in &skeys {
                copy_key(src, sid, k, dst, did)?;
            }
        }
        ObjType::Text => {
            let text = src.text(sid)?;
            if dst.text(did)? != text {
                dst.update_text(did, &text)?;
            }
        }
        ObjType::List => {
            // Lists are append-only here (comments): add what `dst` lacks.
            for i in dst.length(did)..src.length(sid) {
                match src.get(sid, i)? {
                    Some((Value::Scalar(s), _)) => dst.insert(did, i, s.into_owned())?,
                    Some((Value::Object(t), id)) => {
                        let new = dst.insert_object(did, i, t)?;
                        copy_object(src, &id, t, dst, &new)?;
                    }
                    None => {}
                }
            }
        }
    }
    Ok(())
}

fn comment_ids(doc: &AutoCommit, list: &ObjId) -> Vec<(String, ObjId)> {
    (0..doc.length(list))
        .filter_map(|i| match doc.get(list, i).ok()?? {
            (Value::Object(ObjType::Map), obj) => {
                let id = match doc.get(&obj, "id").ok()?? {
                    (Value::Scalar(s), _) => s.as_str().map(str::to_owned),
                    _ => None,
                }?;
                Some((id, obj))
            }
            _ => None,
        })
        .collect()
}

/// Append the comments of `src` that `dst` does not have (by comment id).
pub(crate) fn append_new_comments(
    src: &AutoCommit,
    dst: &mut AutoCommit,
) -> Result<(), ModelError> {
    let (Some((Value::Object(ObjType::List), slist)), Some((Value::Object(ObjType::List), dlist))) =
        (src.get(ROOT, "comments")?, dst.get(ROOT, "comments")?)
    else {
        return Ok(());
    };
    let have: Vec<String> = comment_ids(dst, &dlist)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    for (id, obj) in comment_ids(src, &slist) {
        if have.contains(&id) {
            continue;
        }
        let at = dst.length(&dlist);
        let new = dst.insert_object(&dlist, at, ObjType::Map)?;
        copy_object(src, &obj, ObjType::Map, dst, &new)?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::interview::InterviewMeta;
    use uuid::Uuid;

    /// A new, empty interview of the built-in form by user `u1` (shared with
    /// the rewrite tests).
    pub(crate) fn interview() -> (crate::Form, Interview) {
        let form = crate::mcmb_form().unwrap();
        let meta = InterviewMeta {
            interview_id: Uuid::now_v7().to_string(),
            form_id: form.id().into(),
            form_version: form.version(),
            campaign: "c".into(),
            country: "CI".into(),
            created_by: "u1".into(),
            device_id: "d1".into(),
            created_at: "2026-12-04T00:00:00Z".into(),
        };
        let iv = Interview::create(&form, meta, crate::actor_from_uuid(Uuid::new_v4())).unwrap();
        (form, iv)
    }

    #[test]
    fn reauthored_changes_keep_the_state_and_use_the_new_actor() {
        let (form, mut iv) = interview();
        let base = iv.heads();
        iv.set_answer_json(&form, "city", &serde_json::json!("Bouaké"))
            .unwrap();
        iv.set_answer_json(&form, "nps", &serde_json::json!(7))
            .unwrap();
        iv.add_comment("u1", "Awa", "employee", "rappeler").unwrap();
        let actor = crate::actor_from_uuid(Uuid::new_v4());
        let mut fresh = iv.reauthor(&base, actor.clone()).unwrap();
        // The base is kept; everything after it is one change by the new actor.
        assert!(fresh.has_all(&base));
        let after = fresh.changes_since(&base);
        assert_eq!(after.len(), 1);
        assert_eq!(*after[0].actor_id(), actor);
        assert_eq!(fresh.answers(&form), iv.answers(&form));
        assert_eq!(fresh.comments().len(), 1);
        // Merged with the original (the server may hold both), the comment
        // still shows once and the answers agree.
        let mut merged = iv.clone();
        merged.apply_changes(after).unwrap();
        assert_eq!(merged.comments().len(), 1);
        assert_eq!(merged.project(Some(&form)).comment_count, 1);
        assert_eq!(
            merged.answers(&form).get("nps"),
            iv.answers(&form).get("nps")
        );
    }

    #[test]
    fn an_empty_base_rebuilds_the_whole_document() {
        let (form, mut iv) = interview();
        iv.set_answer_json(&form, "city", &serde_json::json!("Man"))
            .unwrap();
        let actor = crate::actor_from_uuid(Uuid::new_v4());
        let mut fresh = iv.reauthor(&[], actor.clone()).unwrap();
        let all = fresh.changes_since(&[]);
        assert_eq!(all.len(), 1);
        assert_eq!(*all[0].actor_id(), actor);
        assert_eq!(fresh.meta(), iv.meta());
        assert_eq!(fresh.answers(&form), iv.answers(&form));
    }
}
