//! Per-campaign retention of personal data. Each configured campaign
//! ([`crate::CampaignRetention`]) keeps its interviews' PII answers (the
//! form's `pii` questions: the customer's name and phone number, the contact
//! given for a follow-up, hence the cases' contact details) until `pii_days`
//! days after it ended; then the retention sweep erases them by rewrite
//! ([`central_store::merge::rewrite`]): no history keeps them, devices
//! replace their copies, each erasure is audited. [`plan`] is the dry run:
//! what is due, when, and how much, without changing anything.

use std::collections::{BTreeMap, BTreeSet};

use central_store::InterviewFilter;
use central_store::merge::{Erase, rewrite};
use serde::Serialize;
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

/// What the retention of one campaign erases (or erased).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CampaignPlan {
    pub campaign: String,
    pub ended_at: i64,
    pub pii_days: u64,
    /// When its personal data is (was) due for erasure, Unix seconds.
    pub due_at: i64,
    /// Due now.
    pub due: bool,
    /// Interviews that still hold PII answers.
    pub interviews: usize,
    /// PII answers they hold.
    pub answers: usize,
    /// Those interviews by country.
    pub by_country: BTreeMap<String, usize>,
    /// The questions concerned (names, never values).
    pub questions: BTreeSet<String>,
    /// Interviews erased by this run (0 in a dry run).
    pub erased: usize,
}

/// An interview and the names of the PII answers it still holds.
type Holding = (Uuid, Vec<String>);

/// The interviews of each configured campaign that still hold PII answers,
/// with those answers' names: one pass over the interviews for every
/// campaign. Blocking.
fn holding_pii(st: &AppState, now: i64) -> Result<Vec<(CampaignPlan, Vec<Holding>)>, ApiError> {
    let forms = st.forms();
    let mut out: Vec<(CampaignPlan, Vec<Holding>)> = st
        .settings
        .campaign_retention
        .iter()
        .map(|c| {
            let plan = CampaignPlan {
                campaign: c.campaign.clone(),
                ended_at: c.ended_at,
                pii_days: c.pii_days,
                due_at: c.due_at(),
                due: now >= c.due_at(),
                interviews: 0,
                answers: 0,
                by_country: BTreeMap::new(),
                questions: BTreeSet::new(),
                erased: 0,
            };
            (plan, Vec::new())
        })
        .collect();
    if out.is_empty() {
        return Ok(out);
    }
    st.store
        .for_each_interview(&InterviewFilter::default(), &mut |r, _| {
            let Some((plan, targets)) = out.iter_mut().find(|(p, _)| p.campaign == r.campaign)
            else {
                return Ok(());
            };
            let held: Vec<String> = forms
                .pii_names(&r.form_id, r.form_version)
                .into_iter()
                .filter(|n| r.answers.contains_key(n))
                .collect();
            if held.is_empty() {
                return Ok(());
            }
            plan.interviews += 1;
            plan.answers += held.len();
            *plan.by_country.entry(r.country.clone()).or_default() += 1;
            plan.questions.extend(held.iter().cloned());
            if let Ok(id) = Uuid::parse_str(&r.interview_id) {
                targets.push((id, held));
            }
            Ok(())
        })?;
    Ok(out)
}

/// The dry run: what each configured campaign's retention erases now or
/// later. Changes nothing. Blocking.
pub fn plan(st: &AppState, now: i64) -> Result<Vec<CampaignPlan>, ApiError> {
    Ok(holding_pii(st, now)?.into_iter().map(|(p, _)| p).collect())
}

/// Erase the PII answers of every due campaign's interviews (by rewrite,
/// audited as `interview.erased`); returns the plans with what was erased.
/// Idempotent: an erased interview no longer holds PII. Blocking.
pub fn apply(st: &AppState, now: i64) -> Result<Vec<CampaignPlan>, ApiError> {
    let user = super::cases::retention_user();
    let actor = st.actor_for(&user.id);
    let forms = st.forms();
    let mut plans = Vec::new();
    let mut any = false;
    for (mut plan, targets) in holding_pii(st, now)? {
        if plan.due {
            for (id, held) in targets {
                let names: Vec<&str> = held.iter().map(String::as_str).collect();
                match rewrite(
                    st.store.as_ref(),
                    &forms,
                    &actor,
                    &user,
                    id,
                    Erase::Answers(&names),
                ) {
                    Ok(_) => {
                        let detail = format!(
                            "scope=retention campaign={} answers={}",
                            plan.campaign,
                            held.join(",")
                        );
                        crate::audit::record_first(
                            st,
                            &user,
                            "interview.erased",
                            &id.to_string(),
                            &detail,
                        )?;
                        plan.erased += 1;
                        any = true;
                    }
                    Err(central_store::merge::EditError::NotFound(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        plans.push(plan);
    }
    if any && let Err(e) = st.store.scrub_free_space() {
        tracing::warn!(error = %e, "free space not scrubbed after retention; retried at the next");
    }
    Ok(plans)
}
