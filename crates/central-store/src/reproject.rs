//! Re-projection: rebuild the projection row of every stored interview from
//! its document with the current rules. Needed once after an upgrade that
//! changes what a projection holds (e.g. answers checked against the form,
//! with quality flags): rows written before it are stale until re-projected.
//!
//! Documents and the change log are untouched; a row is rewritten only when
//! the new projection differs from the stored one (so a second run rewrites
//! nothing), through `commit_docs` with no changes and the document's version
//! (a concurrent merge wins, and the row is re-read and re-projected).
//! `updated_seq` stays as it was: an incremental (`--since`) export does not
//! see re-projected rows, a full export does.

use std::panic::{AssertUnwindSafe, catch_unwind};

use survey_model::{Interview, InterviewRecord};
use uuid::Uuid;

use crate::merge::{FormRegistry, refresh_cross, stored_record};
use crate::{CentralStore, DocWrite, InterviewFilter, Result, StoreError};

/// How often one document is retried when a merge moves it meanwhile.
const MAX_ATTEMPTS: usize = 8;

/// What a re-projection did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReprojectReport {
    /// Interviews looked at.
    pub seen: u64,
    /// Projection rows rewritten (the others were already current).
    pub rewritten: u64,
    /// Documents that could not be loaded (left as they were).
    pub failed: u64,
    /// Follow-up cases a rule called for that were missing.
    pub cases_opened: u64,
}

/// Re-project every stored interview. `progress` gets the number seen so far
/// (every 1,000 and at the end).
pub fn reproject_all(
    store: &dyn CentralStore,
    forms: &FormRegistry,
    progress: &mut dyn FnMut(u64),
) -> Result<ReprojectReport> {
    // Ids only (16 bytes each): the scan does not hold a read open while writing.
    let mut ids = Vec::new();
    let mut keys = Vec::new();
    store.for_each_interview(&InterviewFilter::default(), &mut |r, _| {
        if let Ok(id) = Uuid::parse_str(&r.interview_id) {
            ids.push(id);
        }
        // Who and which phone, for the cross-interview checks at the end.
        keys.push(InterviewRecord {
            answers: r
                .answers
                .into_iter()
                .filter(|(k, _)| k == survey_model::checks::PHONE_QUESTION)
                .collect(),
            ..r
        });
        Ok(())
    })?;
    let mut report = ReprojectReport::default();
    for &id in &ids {
        report.seen += 1;
        match reproject_one(store, forms, id) {
            Ok(true) => report.rewritten += 1,
            Ok(false) => {}
            Err(StoreError::Corrupt(e)) => {
                tracing::warn!(doc = %id, error = %e, "re-projection skipped a document");
                report.failed += 1;
            }
            Err(e) => return Err(e),
        }
        if report.seen.is_multiple_of(1000) {
            progress(report.seen);
        }
    }
    refresh_cross(store, forms, keys.iter())?;
    // Cases a rule calls for and a failed push did not open.
    let mut opened = 0u64;
    for id in &ids {
        if let Some(r) = store.interview(*id)? {
            opened += crate::cases::open_by_rule(
                store,
                forms.case_rules(),
                std::iter::once(&r),
                crate::unix_now(),
            )?
            .len() as u64;
        }
    }
    report.cases_opened = opened;
    progress(report.seen);
    Ok(report)
}

/// Re-project one interview; `Ok(true)` when its row was rewritten.
pub fn reproject_one(store: &dyn CentralStore, forms: &FormRegistry, id: Uuid) -> Result<bool> {
    for _ in 0..MAX_ATTEMPTS {
        let Some(doc) = store.load_doc(id)? else {
            return Ok(false);
        };
        // As stored by the projection: without the checks the store keeps
        // across interviews.
        let stored = store.interview(id)?.map(|mut r| {
            r.checks.retain(|c| !c.is_cross());
            r
        });
        let skew = stored.as_ref().and_then(|r| r.paradata.clock_skew_s);
        let projected = catch_unwind(AssertUnwindSafe(|| {
            let mut iv = Interview::load(&doc.snapshot)
                .map_err(|e| StoreError::Corrupt(format!("document {id}: {e}")))?;
            let record = stored_record(store, forms, &mut iv, skew)?;
            let heads = iv.heads().iter().map(|h| h.0).collect::<Vec<_>>();
            Ok::<_, StoreError>((record, heads))
        }));
        let (record, heads) = match projected {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(StoreError::Corrupt(format!("document {id}: panic"))),
        };
        // Compared as stored (through JSON, which may move a float by an ulp).
        let as_stored = serde_json::to_string(&record)
            .and_then(|j| serde_json::from_str::<survey_model::InterviewRecord>(&j))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if stored.as_ref() == Some(&as_stored) {
            return Ok(false);
        }
        let write = DocWrite {
            doc_id: id,
            owner: doc.owner,
            country: doc.country,
            expected_version: Some(doc.version),
            changes: Vec::new(),
            snapshot_holds_changes: false,
            source: "server:reproject".into(),
            snapshot: doc.snapshot,
            heads,
            record,
            // A re-projection reports nothing new.
            events: Vec::new(),
            replaces_history: false,
        };
        match store.commit_docs(std::slice::from_ref(&write)) {
            Ok(()) => return Ok(true),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Conflict(id))
}
