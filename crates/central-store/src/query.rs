//! Query building shared by the backends: the interview filter and the
//! review-queue conditions become one WHERE clause through a [`Binder`] (the
//! backend's parameter list, which knows its placeholder style), and the
//! paging of long reads is one loop.

use survey_model::InterviewRecord;

use crate::columns::Value;
use crate::dashboard::{ReviewPage, ReviewQuery, queue_conditions};
use crate::{InterviewFilter, Result, record_from_json};

/// One bound value as a backend's driver takes it.
pub(crate) trait Bound: Sized {
    /// The placeholder's prefix (`?3` in SQLite, `$3` in PostgreSQL).
    const MARK: char;
    fn from_value(v: Value) -> Self;
    /// Bind `vs` for the condition "`col` is one of `vs`" (`vs` not empty);
    /// the condition.
    fn one_of(args: &mut Vec<Self>, col: &str, vs: &[String]) -> String;
}

/// A statement's parameters: binding a value returns the placeholder to
/// write in its place.
pub(crate) trait Binder: Default {
    fn text(&mut self, v: String) -> String;
    fn int(&mut self, v: i64) -> String;
    /// The condition "`col` is one of `vs`" (`vs` not empty).
    fn one_of(&mut self, col: &str, vs: &[String]) -> String;
}

impl<T: Bound> Binder for Vec<T> {
    fn text(&mut self, v: String) -> String {
        self.push(T::from_value(Value::Text(Some(v))));
        format!("{}{}", T::MARK, self.len())
    }
    fn int(&mut self, v: i64) -> String {
        self.push(T::from_value(Value::Int(Some(v))));
        format!("{}{}", T::MARK, self.len())
    }
    fn one_of(&mut self, col: &str, vs: &[String]) -> String {
        T::one_of(self, col, vs)
    }
}

/// [`interview_where`] with a fresh parameter list.
pub(crate) fn filtered<B: Binder>(f: &InterviewFilter) -> (String, B) {
    let mut b = B::default();
    let w = interview_where(f, &mut b);
    (w, b)
}

/// The WHERE clause of an interview filter (limit and offset aside), binding
/// its values into `b`; further conditions can be appended with `AND`.
pub(crate) fn interview_where(f: &InterviewFilter, b: &mut impl Binder) -> String {
    let mut sql = String::from(" WHERE 1 = 1");
    if !f.countries.is_empty() {
        sql.push_str(&format!(" AND {}", b.one_of("country", &f.countries)));
    }
    for (col, v) in [
        ("created_by", &f.created_by),
        ("city", &f.city),
        ("place_code", &f.place_code),
        ("segment", &f.segment),
        ("review_state", &f.review_state),
        ("status", &f.status),
    ] {
        if let Some(v) = v {
            sql.push_str(&format!(" AND {col} = {}", b.text(v.clone())));
        }
    }
    if let Some(seq) = f.since_seq {
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        sql.push_str(&format!(" AND updated_seq > {}", b.int(seq)));
    }
    sql
}

/// The WHERE clause of a review-queue query: its base filter, with the
/// queue's own review-state condition instead of the filter's, and the
/// queue's conditions. `contains` as for [`queue_conditions`].
pub(crate) fn queue_where(q: &ReviewQuery, contains: &str, b: &mut impl Binder) -> String {
    let mut base = q.base.clone();
    base.review_state = None;
    let mut w = interview_where(&base, b);
    for (sql, v) in queue_conditions(q, contains) {
        match v {
            Some(v) => w.push_str(&sql.replace('?', &b.text(v))),
            None => w.push_str(&sql),
        }
    }
    w
}

/// One page of the interviews matching `f`, newest first, and its parameters.
pub(crate) fn list_interviews<B: Binder>(f: &InterviewFilter) -> (String, B) {
    let (w, b) = filtered::<B>(f);
    let sql = format!(
        "SELECT {} FROM interviews{w} ORDER BY created_at DESC, doc_id LIMIT {} OFFSET {}",
        crate::columns::record_expr(""),
        f.limit.unwrap_or(100).min(10_000),
        f.offset.unwrap_or(0)
    );
    (sql, b)
}

/// A review page from its total and its records' JSON.
pub(crate) fn review_page(total: u64, records: &[String]) -> Result<ReviewPage> {
    Ok(ReviewPage {
        total,
        items: records
            .iter()
            .map(|s| record_from_json(s))
            .collect::<Result<_>>()?,
    })
}

/// Rows per page of [`visit_pages`].
pub(crate) const PAGE: usize = 2000;

/// Keyset pagination for [`crate::CentralStore::for_each_interview`]:
/// `fetch(after)` returns up to [`PAGE`] rows `(doc_id, record, updated_seq)`
/// with `doc_id` above `after` (all when `None`), in `doc_id` order, from
/// `start` (the filter's `after_id`). Each
/// page is a short read and nothing is held while `visit` runs, so memory
/// stays flat.
pub(crate) fn visit_pages<K>(
    start: Option<K>,
    mut fetch: impl FnMut(Option<&K>) -> Result<Vec<(K, String, i64)>>,
    visit: &mut dyn FnMut(InterviewRecord, u64) -> Result<()>,
) -> Result<()> {
    let mut after: Option<K> = start;
    loop {
        let rows = fetch(after.as_ref())?;
        let n = rows.len();
        for (id, rec, seq) in rows {
            visit(record_from_json(&rec)?, seq as u64)?;
            after = Some(id);
        }
        if n < PAGE {
            return Ok(());
        }
    }
}
