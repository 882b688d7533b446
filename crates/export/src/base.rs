//! Which interviews count: the one rule exports, the OData feed, the report
//! and the actions board share. An interview counts when it is submitted,
//! every consent question is answered yes, and it was not rejected in
//! review. Drafts and rejected interviews can be asked for; interviews
//! without consent never leave the server.

use central_store::merge::FormRegistry;
use serde::Serialize;
use survey_model::InterviewRecord;

use crate::columns::consented;

/// Why an interview is left out of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftOut {
    /// Not submitted (still a draft, or returned to draft after review).
    Draft,
    /// A consent question is not answered yes (never exported).
    WithoutConsent,
    /// Rejected in review.
    Rejected,
}

impl LeftOut {
    pub fn as_str(self) -> &'static str {
        match self {
            LeftOut::Draft => "draft",
            LeftOut::WithoutConsent => "without_consent",
            LeftOut::Rejected => "rejected",
        }
    }
}

/// The base rule with its two opt-ins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BaseRule {
    /// Count drafts too.
    pub include_drafts: bool,
    /// Count interviews rejected in review too.
    pub include_rejected: bool,
}

impl BaseRule {
    /// Why `rec` is left out, or `None` when it counts (a draft is counted
    /// as a draft before its consent is looked at).
    pub fn left_out(&self, rec: &InterviewRecord, forms: &FormRegistry) -> Option<LeftOut> {
        if !self.include_drafts && rec.status != "submitted" {
            Some(LeftOut::Draft)
        } else if !consented(rec, forms.get(&rec.form_id, rec.form_version)) {
            Some(LeftOut::WithoutConsent)
        } else if !self.include_rejected && rec.review_state.as_deref() == Some("rejected") {
            Some(LeftOut::Rejected)
        } else {
            None
        }
    }

    /// The rule in words, for manifests and the report.
    pub fn describe(&self) -> String {
        let mut s = String::from("consented");
        s.push_str(if self.include_drafts {
            ", drafts included"
        } else {
            ", submitted"
        });
        s.push_str(if self.include_rejected {
            ", rejected in review included"
        } else {
            ", not rejected in review"
        });
        s
    }
}

/// How many interviews the rule left out, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LeftOutCounts {
    pub drafts: u64,
    pub without_consent: u64,
    pub rejected: u64,
}

impl LeftOutCounts {
    pub fn add(&mut self, why: LeftOut) {
        match why {
            LeftOut::Draft => self.drafts += 1,
            LeftOut::WithoutConsent => self.without_consent += 1,
            LeftOut::Rejected => self.rejected += 1,
        }
    }
}
