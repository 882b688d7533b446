//! Types and backend-independent defaults for the coordinator dashboard: campaign
//! aggregates (counts, NPS, satisfaction by touchpoint), the filtered review
//! queue, and login sessions. Backends override the trait methods with SQL; the
//! defaults here are computed from [`CentralStore::for_each_interview`] so a new
//! backend is correct before it is fast.

use std::collections::BTreeMap;

use serde::Serialize;
use survey_model::InterviewRecord;
use survey_model::nps::{Band, band};

use crate::{CentralStore, InterviewFilter, Result};

pub use crate::columns::{TOUCHPOINTS, complaint_categories_of, complaint_key};

/// Review states as stored, plus `unreviewed` for interviews nobody reviewed.
pub const REVIEW_STATES: [&str; 5] = [
    "unreviewed",
    "received",
    "has_issues",
    "approved",
    "rejected",
];

/// Running totals over a group of interviews.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Tally {
    pub interviews: u64,
    pub with_nps: u64,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    pub complaints: u64,
    /// Sum and count of each touchpoint rating, in [`TOUCHPOINTS`] order.
    pub sat_sum: [i64; 5],
    pub sat_n: [u64; 5],
}

impl Tally {
    /// Count one interview.
    pub fn add(&mut self, nps: Option<i64>, sats: [Option<i64>; 5], complaint: bool) {
        self.interviews += 1;
        // The projection holds only scores on the scale; a score off it (a
        // record stored before answers were checked) is not an NPS answer.
        if let Some(b) = nps.and_then(band) {
            self.with_nps += 1;
            match b {
                Band::Promoter => self.promoters += 1,
                Band::Passive => self.passives += 1,
                Band::Detractor => self.detractors += 1,
            }
        }
        if complaint {
            self.complaints += 1;
        }
        for (i, s) in sats.iter().enumerate() {
            if let Some(s) = s {
                self.sat_sum[i] += s;
                self.sat_n[i] += 1;
            }
        }
    }

    /// Add another group's totals.
    pub fn merge(&mut self, o: &Tally) {
        self.interviews += o.interviews;
        self.with_nps += o.with_nps;
        self.promoters += o.promoters;
        self.passives += o.passives;
        self.detractors += o.detractors;
        self.complaints += o.complaints;
        for i in 0..5 {
            self.sat_sum[i] += o.sat_sum[i];
            self.sat_n[i] += o.sat_n[i];
        }
    }

    /// Net Promoter Score, -100..=100 (`None` without NPS answers).
    pub fn nps_score(&self) -> Option<f64> {
        (self.with_nps > 0).then(|| {
            (self.promoters as f64 - self.detractors as f64) * 100.0 / self.with_nps as f64
        })
    }

    /// Average rating of touchpoint `i` ([`TOUCHPOINTS`] order).
    pub fn sat_avg(&self, i: usize) -> Option<f64> {
        let n = *self.sat_n.get(i)?;
        (n > 0).then(|| self.sat_sum[i] as f64 / n as f64)
    }
}

/// Totals of one place of a country: a place of the place list by its code
/// (forms from MCMB v2 on), else the free-text city as typed (v1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlaceTally {
    pub country: String,
    /// The place code (`other` for a place typed by hand); empty for v1.
    pub place_code: String,
    /// The free-text city of v1 interviews; empty when the interview has none.
    pub city: String,
    pub tally: Tally,
}

/// Totals of one value of a dimension (country, segment, ...).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyTally {
    pub key: String,
    pub tally: Tally,
}

/// Campaign progress and scores over the interviews of a filter.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CampaignStats {
    pub total: Tally,
    /// Sorted by country.
    pub by_country: Vec<KeyTally>,
    /// Sorted by country, then interviews (most first), then city.
    pub by_place: Vec<PlaceTally>,
    /// Sorted by segment (`""` = no segment).
    pub by_segment: Vec<KeyTally>,
    /// `(user id, interviews)`, most interviews first.
    pub by_employee: Vec<(String, u64)>,
    /// `(review state, interviews)` in [`REVIEW_STATES`] order.
    pub by_review_state: Vec<(String, u64)>,
}

impl CampaignStats {
    /// Sort every list into its documented order.
    pub fn normalise(&mut self) {
        self.by_country.sort_by(|a, b| a.key.cmp(&b.key));
        self.by_place.sort_by(|a, b| {
            a.country
                .cmp(&b.country)
                .then(b.tally.interviews.cmp(&a.tally.interviews))
                .then(a.place_code.cmp(&b.place_code))
                .then(a.city.cmp(&b.city))
        });
        self.by_segment.sort_by(|a, b| a.key.cmp(&b.key));
        self.by_employee
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        self.by_review_state.sort_by_key(|(k, _)| {
            REVIEW_STATES
                .iter()
                .position(|s| s == k)
                .unwrap_or(REVIEW_STATES.len())
        });
    }
}

/// NPS band of a 0-10 score: survey-model's one banding.
pub use survey_model::nps::Band as NpsBand;

/// The SQL condition selecting the `nps` column's scores of band `b`, built
/// from [`NpsBand::range`] (the same text in SQLite and PostgreSQL).
pub(crate) fn nps_band_sql(b: NpsBand) -> String {
    let (lo, hi) = b.range();
    format!("nps BETWEEN {lo} AND {hi}")
}

/// The SQL condition selecting scores on the NPS scale (what [`Tally`] counts
/// as `with_nps`).
pub(crate) fn nps_scale_sql() -> String {
    format!(
        "nps BETWEEN {} AND {}",
        survey_model::nps::MIN,
        survey_model::nps::MAX
    )
}

/// The NPS conditions of the tally columns, in [`Tally`] order: on the scale,
/// promoters, passives, detractors. Each backend wraps them in its own
/// conditional count.
pub(crate) fn tally_nps_conditions() -> [String; 4] {
    [
        nps_scale_sql(),
        nps_band_sql(NpsBand::Promoter),
        nps_band_sql(NpsBand::Passive),
        nps_band_sql(NpsBand::Detractor),
    ]
}

/// The review queue's filters. `base` carries country, city, segment, created_by
/// and paging; its `review_state` is ignored in favour of `review_state` here
/// (which also accepts `unreviewed`).
#[derive(Debug, Clone, Default)]
pub struct ReviewQuery {
    pub base: InterviewFilter,
    pub review_state: Option<String>,
    pub nps_band: Option<NpsBand>,
    /// Inclusive `YYYY-MM-DD` bounds on `created_at`.
    pub date_from: Option<String>,
    pub date_to: Option<String>,
    /// One value of `complaint_categories`.
    pub complaint_category: Option<String>,
    /// Only interviews flagged by this quality check, or by any with `any`.
    pub check: Option<String>,
    /// Most flagged first (then newest), instead of newest first.
    pub by_checks: bool,
}

/// The number of quality checks that fire on a row, in SQL.
pub(crate) const CHECK_TOTAL: &str = "(COALESCE(check_count, 0) + cross_count)";

/// One page of the review queue, newest first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReviewPage {
    pub total: u64,
    pub items: Vec<InterviewRecord>,
}

/// A dashboard login session. The token itself is never stored, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user_id: String,
    /// The synchroniser token forms and API calls must echo.
    pub csrf: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// The satisfaction ratings of a record, in [`TOUCHPOINTS`] order.
pub fn sats_of(r: &InterviewRecord) -> [Option<i64>; 5] {
    TOUCHPOINTS.map(|t| r.answer_i64(t))
}

fn matches_extra(q: &ReviewQuery, r: &InterviewRecord) -> bool {
    if let Some(rs) = &q.review_state {
        let state = r.review_state.as_deref().unwrap_or("unreviewed");
        if state != rs {
            return false;
        }
    }
    if let Some(want) = q.nps_band
        && r.answer_i64("nps").and_then(band) != Some(want)
    {
        return false;
    }
    let day = r.created_at.get(..10).unwrap_or(&r.created_at);
    if q.date_from.as_deref().is_some_and(|d| day < d) {
        return false;
    }
    if q.date_to.as_deref().is_some_and(|d| day > d) {
        return false;
    }
    if let Some(c) = &q.complaint_category
        && !complaint_categories_of(r).iter().any(|x| x == c)
    {
        return false;
    }
    true
}

/// Default [`CentralStore::campaign_stats`]: one streaming pass.
pub fn default_campaign_stats<S: CentralStore + ?Sized>(
    store: &S,
    f: &InterviewFilter,
) -> Result<CampaignStats> {
    let mut f = f.clone();
    f.limit = None;
    f.offset = None;
    let mut total = Tally::default();
    let mut country: BTreeMap<String, Tally> = BTreeMap::new();
    let mut place: BTreeMap<(String, String, String), Tally> = BTreeMap::new();
    let mut segment: BTreeMap<String, Tally> = BTreeMap::new();
    let mut employee: BTreeMap<String, u64> = BTreeMap::new();
    let mut review: BTreeMap<String, u64> = BTreeMap::new();
    store.for_each_interview(&f, &mut |r, _| {
        let nps = r.answer_i64("nps");
        let sats = sats_of(&r);
        let complaint = r.answer_str("has_complaint") == Some("yes");
        let city = r.answer_str("city").unwrap_or("").to_owned();
        let code = r
            .answer_str(survey_model::mcmb::PLACE_QUESTION)
            .unwrap_or("")
            .to_owned();
        let seg = r.answer_str("segment").unwrap_or("").to_owned();
        for t in [
            &mut total,
            country.entry(r.country.clone()).or_default(),
            place.entry((r.country.clone(), code, city)).or_default(),
            segment.entry(seg).or_default(),
        ] {
            t.add(nps, sats, complaint);
        }
        *employee.entry(r.created_by.clone()).or_default() += 1;
        *review
            .entry(r.review_state.unwrap_or_else(|| "unreviewed".into()))
            .or_default() += 1;
        Ok(())
    })?;
    let mut s = CampaignStats {
        total,
        by_country: country
            .into_iter()
            .map(|(key, tally)| KeyTally { key, tally })
            .collect(),
        by_place: place
            .into_iter()
            .map(|((country, place_code, city), tally)| PlaceTally {
                country,
                place_code,
                city,
                tally,
            })
            .collect(),
        by_segment: segment
            .into_iter()
            .map(|(key, tally)| KeyTally { key, tally })
            .collect(),
        by_employee: employee.into_iter().collect(),
        by_review_state: review.into_iter().collect(),
    };
    s.normalise();
    Ok(s)
}

/// Default [`CentralStore::review_queue`]: one streaming pass keeping only
/// the sort keys, then the page's records by id.
pub fn default_review_queue<S: CentralStore + ?Sized>(
    store: &S,
    q: &ReviewQuery,
) -> Result<ReviewPage> {
    let mut f = q.base.clone();
    f.review_state = None;
    f.limit = None;
    f.offset = None;
    let mut keys: Vec<(String, uuid::Uuid)> = Vec::new();
    store.for_each_interview(&f, &mut |r, _| {
        if matches_extra(q, &r)
            && let Ok(id) = uuid::Uuid::parse_str(&r.interview_id)
        {
            keys.push((r.created_at, id));
        }
        Ok(())
    })?;
    keys.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let total = keys.len() as u64;
    let limit = q.base.limit.unwrap_or(50).min(1000);
    let mut items = Vec::new();
    for (_, id) in keys.iter().skip(q.base.offset.unwrap_or(0)).take(limit) {
        if let Some(r) = store.interview(*id)? {
            items.push(r);
        }
    }
    Ok(ReviewPage { total, items })
}

/// The review-queue conditions beyond the base interview filter, shared by the
/// SQL backends: `(sql, value)`, where `?` in `sql` stands for `value`.
/// `contains` names the SQL function giving a substring's position
/// (`instr` in SQLite, `strpos` in PostgreSQL; both take (text, needle)).
pub(crate) fn queue_conditions(q: &ReviewQuery, contains: &str) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    match q.review_state.as_deref() {
        Some("unreviewed") => out.push((" AND review_state IS NULL".into(), None)),
        Some(s) => out.push((" AND review_state = ?".into(), Some(s.to_owned()))),
        None => {}
    }
    if let Some(b) = q.nps_band {
        out.push((format!(" AND {}", nps_band_sql(b)), None));
    }
    if let Some(d) = &q.date_from {
        out.push((" AND created_at >= ?".into(), Some(d.clone())));
    }
    if let Some(d) = &q.date_to {
        // Any time of that day sorts below `YYYY-MM-DD~`.
        out.push((" AND created_at < ?".into(), Some(format!("{d}~"))));
    }
    if let Some(cat) = &q.complaint_category {
        out.push((
            format!(" AND {contains}(complaint_categories, ?) > 0"),
            Some(format!(",{cat},")),
        ));
    }
    match q
        .check
        .as_deref()
        .map(|c| (c, survey_model::Check::parse(c)))
    {
        None => {}
        Some((_, Some(c))) => {
            let col = if c.is_cross() {
                "cross_checks"
            } else {
                "checks"
            };
            out.push((
                format!(" AND {contains}({col}, ?) > 0"),
                Some(format!(",{},", c.as_str())),
            ));
        }
        // `any` (the caller validates the name; anything else means any).
        Some((_, None)) => out.push((format!(" AND {CHECK_TOTAL} > 0"), None)),
    }
    out
}

/// The review-queue page query over the WHERE clause `w`: a deferred join that
/// pages over the queue index, then reads only the page's records (a deep
/// OFFSET never touches the record JSON it skips).
pub(crate) fn queue_page_sql(w: &str, q: &ReviewQuery) -> String {
    let (inner, outer) = if q.by_checks {
        (
            format!("{CHECK_TOTAL} DESC, created_at DESC, doc_id"),
            "p.n DESC, i.created_at DESC, i.doc_id",
        )
    } else {
        (
            "created_at DESC, doc_id".to_owned(),
            "i.created_at DESC, i.doc_id",
        )
    };
    format!(
        "SELECT {} FROM interviews i JOIN (
           SELECT doc_id, {CHECK_TOTAL} AS n FROM interviews{w} ORDER BY {inner} LIMIT {} OFFSET {}
         ) p ON p.doc_id = i.doc_id ORDER BY {outer}",
        crate::columns::record_expr("i"),
        q.base.limit.unwrap_or(50).min(1000),
        q.base.offset.unwrap_or(0)
    )
}

/// The touchpoint aggregates of a tally row, shared by the SQL backends:
/// `pattern` once per [`TOUCHPOINTS`] column, `{t}` standing for its name.
pub(crate) fn touchpoint_cols(pattern: &str) -> String {
    TOUCHPOINTS
        .iter()
        .map(|t| pattern.replace("{t}", t))
        .collect::<Vec<_>>()
        .join(", ")
}
