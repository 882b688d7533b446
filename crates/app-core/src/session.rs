//! What the app keeps in memory between commands: the parsed forms (keyed by
//! form id and version) and the one open interview document, so an answer
//! costs one change and one durable save instead of re-parsing the form and
//! reloading the document from SQLite.
//!
//! The store stays the truth. A cached form is dropped when the store's
//! forms revision moves (a form added or replaced). The open interview is
//! used only while the store holds exactly it — same heads (one indexed
//! lookup), same actor — so a sync that merged remote changes into it, a
//! re-authored document, or unsaved changes left by a failed command all make
//! the next command reload it. Opening another interview replaces it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

use device_store::{DeviceStore, StoreError};
use survey_model::{ChangeHash, Form, Interview};
use uuid::Uuid;

use crate::{AppError, Result};

/// Parsed forms and the open interview; lives behind the store's lock.
#[derive(Debug, Default)]
pub(crate) struct Session {
    forms_revision: Option<u64>,
    forms: HashMap<(String, u32), Arc<Form>>,
    open: Option<OpenInterview>,
}

#[derive(Debug)]
struct OpenInterview {
    iv: Interview,
    /// The document's heads when it was kept.
    heads: Vec<ChangeHash>,
}

impl Session {
    /// Form `form_id` at `version`, parsed once per forms revision.
    pub(crate) fn form(
        &mut self,
        s: &DeviceStore,
        form_id: &str,
        version: u32,
    ) -> Result<Arc<Form>> {
        let revision = s.forms_revision()?;
        if self.forms_revision != Some(revision) {
            self.forms.clear();
            self.forms_revision = Some(revision);
        }
        Ok(match self.forms.entry((form_id.to_owned(), version)) {
            Entry::Occupied(e) => e.get().clone(),
            Entry::Vacant(e) => e.insert(Arc::new(s.form(form_id, Some(version))?)).clone(),
        })
    }

    /// The newest version of `form_id`, or with `None` of the first form on
    /// the device (by id).
    pub(crate) fn newest_form(
        &mut self,
        s: &DeviceStore,
        form_id: Option<String>,
    ) -> Result<Arc<Form>> {
        let forms = s.forms()?;
        let id = match form_id {
            Some(id) => id,
            None => forms.first().ok_or(AppError::NoForm)?.0.clone(),
        };
        let version = forms
            .iter()
            .filter(|(f, _)| *f == id)
            .map(|(_, v)| *v)
            .max()
            .ok_or_else(|| StoreError::UnknownForm(id.clone()))?;
        self.form(s, &id, version)
    }

    /// The form of interview `iv`.
    pub(crate) fn form_of(&mut self, s: &DeviceStore, iv: &Interview) -> Result<Arc<Form>> {
        let m = iv.meta();
        self.form(s, &m.form_id, m.form_version)
    }

    /// Take interview `id` out of the session: the kept copy when the store
    /// is still exactly at it, otherwise loaded from the store. Give it back
    /// with [`Session::keep`] once the command succeeded (and saved).
    pub(crate) fn take(&mut self, s: &DeviceStore, id: Uuid) -> Result<Interview> {
        if let Some(open) = self.open.take().filter(|o| o.iv.id() == id)
            && *open.iv.doc().get_actor() == s.actor()
            && s.is_stored_at(id, &open.heads)?
        {
            return Ok(open.iv);
        }
        Ok(s.load(id)?)
    }

    /// Keep `iv` as the open interview. It is used again only if the store is
    /// then at its current heads, so a copy with unsaved changes never is.
    pub(crate) fn keep(&mut self, mut iv: Interview) {
        let heads = iv.heads();
        self.open = Some(OpenInterview { iv, heads });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::{Path, PathBuf};

    use device_store::Enrollment;
    use serde_json::json;
    use survey_model::{Answer, ReviewState, actor_from_uuid};

    use super::*;
    use crate::{App, STORE_FILE};

    /// A directory removed when the test ends.
    struct TempDir(PathBuf);
    impl TempDir {
        fn new() -> TempDir {
            let p = std::env::temp_dir().join(format!("app-core-session-{}", Uuid::new_v4()));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    const FORM: &str = survey_model::BUILTIN_FORMS[0].1;

    fn enrolled_app(dir: &Path) -> App {
        let app = App::open(dir, "test").unwrap();
        let s = app.store.lock().unwrap();
        s.put_form(FORM).unwrap();
        s.set_enrollment(&Enrollment {
            server_url: "http://127.0.0.1:9".into(),
            device_id: "dev-1".into(),
            device_token: "t".into(),
            user_id: "emp-1".into(),
            user_name: "Awa".into(),
            country: "CI".into(),
            campaign: "c".into(),
        })
        .unwrap();
        drop(s);
        app
    }

    async fn start(app: &App) -> Uuid {
        let v = app.new_interview(None, "en".into()).await.unwrap();
        Uuid::parse_str(&v.interview_id).unwrap()
    }

    async fn answer(app: &App, id: Uuid, q: &str, v: serde_json::Value) -> crate::FormView {
        app.set_answer(id, q.into(), v, "en".into()).await.unwrap()
    }

    /// The answers of `id` as another connection reads them from disk.
    fn on_disk(path: &Path, id: Uuid) -> survey_model::Answers {
        let s = DeviceStore::open(path).unwrap();
        let iv = s.load(id).unwrap();
        let form = s
            .form(&iv.meta().form_id, Some(iv.meta().form_version))
            .unwrap();
        iv.answers(&form)
    }

    #[tokio::test]
    async fn every_answer_through_the_open_interview_is_on_disk_when_it_returns() {
        let dir = TempDir::new();
        let path = dir.0.join(STORE_FILE);
        let app = enrolled_app(&dir.0);
        let id = start(&app).await;
        let steps = [
            ("consent", json!(true)),
            ("segment", json!("individual")),
            ("city", json!("Bouaké")),
            ("nps", json!(9)),
            ("city", json!("Bouaké, Koko")),
        ];
        for (i, (q, v)) in steps.iter().enumerate() {
            answer(&app, id, q, v.clone()).await;
            // Read by a second connection while the app keeps its copy.
            let got = on_disk(&path, id);
            assert_eq!(
                got.len(),
                steps[..=i]
                    .iter()
                    .map(|s| s.0)
                    .collect::<std::collections::BTreeSet<_>>()
                    .len()
            );
            assert_eq!(got.get(*q).map(Answer::to_json).as_ref(), Some(v), "{q}");
        }
        // A refused answer leaves nothing behind, and the next one is saved.
        assert!(
            app.set_answer(id, "nps".into(), json!("ten"), "en".into())
                .await
                .is_err()
        );
        answer(&app, id, "nps", json!(7)).await;
        drop(app);
        let got = on_disk(&path, id);
        assert_eq!(got["nps"], Answer::Int(7));
        assert_eq!(got["city"], Answer::Text("Bouaké, Koko".into()));
        assert_eq!(got["consent"], Answer::Bool(true));
    }

    #[tokio::test]
    async fn a_sync_merge_between_two_answers_is_kept() {
        let dir = TempDir::new();
        let app = enrolled_app(&dir.0);
        let id = start(&app).await;
        answer(&app, id, "consent", json!(true)).await;

        // The coordinator's review and comment arrive by sync, merged into
        // the stored document while the app has it open.
        let (changes, server_heads) = {
            let s = app.store.lock().unwrap();
            let mut coord = s.load(id).unwrap();
            let base = coord.heads();
            coord.set_actor(actor_from_uuid(Uuid::new_v4()));
            coord.set_review(ReviewState::HasIssues, "coord").unwrap();
            coord
                .add_comment("coord-1", "Coord", "coordinator", "Quartier ?")
                .unwrap();
            (coord.changes_since(&base), coord.heads())
        };
        app.store
            .lock()
            .unwrap()
            .apply_remote(id, changes, &server_heads)
            .unwrap();

        // The next answer builds on the merged document.
        let v = answer(&app, id, "segment", json!("business")).await;
        assert_eq!(v.review_state.as_deref(), Some("has_issues"));
        assert_eq!(v.comments.len(), 1);
        {
            let s = app.store.lock().unwrap();
            let mut iv = s.load(id).unwrap();
            assert!(
                iv.has_all(&server_heads),
                "merged changes are under the new answer"
            );
            assert_eq!(iv.comments()[0].text, "Quartier ?");
            assert_eq!(iv.review_state(), Some(ReviewState::HasIssues));
            let form = s.form("mcmb-interview", Some(1)).unwrap();
            let got = iv.answers(&form);
            assert_eq!(got["consent"], Answer::Bool(true));
            assert_eq!(got["segment"], Answer::Choice("business".into()));
        }

        // Another interview opened in between: the first is reloaded intact.
        let other = start(&app).await;
        answer(&app, other, "consent", json!(false)).await;
        let v = answer(&app, id, "city", json!("Korhogo")).await;
        assert_eq!(v.comments.len(), 1);
        let got = on_disk(&dir.0.join(STORE_FILE), id);
        assert_eq!(got["segment"], Answer::Choice("business".into()));
        assert_eq!(got["city"], Answer::Text("Korhogo".into()));
    }

    #[tokio::test]
    async fn a_new_or_replaced_form_is_picked_up() {
        let dir = TempDir::new();
        let app = enrolled_app(&dir.0);
        let id = start(&app).await;
        let v = app.form_view(id, "en".into()).await.unwrap();
        assert_eq!(v.title, "My Customer, My Boss — customer interview");

        // The same version with a new text (a corrected label).
        let fixed = FORM.replacen(
            "My Customer, My Boss — customer interview",
            "My Customer, My Boss — interview",
            1,
        );
        app.store.lock().unwrap().put_form(&fixed).unwrap();
        let v = answer(&app, id, "consent", json!(true)).await;
        assert_eq!(v.title, "My Customer, My Boss — interview");

        // A new version: new interviews use it, the open one keeps its own.
        let v2 = fixed.replacen("\"version\": 1,", "\"version\": 2,", 1);
        app.store.lock().unwrap().put_form(&v2).unwrap();
        let v = app.new_interview(None, "en".into()).await.unwrap();
        assert_eq!(v.form_version, 2);
        let v = app.form_view(id, "en".into()).await.unwrap();
        assert_eq!(v.form_version, 1);
    }
}
