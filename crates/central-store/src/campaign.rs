//! The campaign aggregates in SQL, shared by the backends: the three grouped
//! queries over the projection's columns (covering index `interviews_agg`, no
//! record JSON is read), how their rows are read, and how they add up to
//! [`CampaignStats`]. A backend supplies only its [`Dialect`] and runs the
//! queries; the defaults in [`crate::dashboard`] give the same results from
//! the records.

use crate::dashboard::{
    CampaignStats, KeyTally, PlaceTally, REVIEW_STATES, TOUCHPOINTS, Tally, tally_nps_conditions,
    touchpoint_cols,
};
use crate::rows::RowGet;
use crate::{Result, StoreError};

/// How a backend spells the pieces of the aggregates that differ.
pub(crate) struct Dialect {
    /// The number of rows of a group where `cond` holds.
    pub count_if: fn(&str) -> String,
    /// Appended to a touchpoint `SUM(...)` (PostgreSQL sums BIGINTs as
    /// NUMERIC, so it casts back).
    pub sum_suffix: &'static str,
    /// The GROUP BY of the per-place query, whose first three columns are
    /// `country`, `COALESCE(place_code, '')` and `COALESCE(city, '')`.
    pub place_group: &'static str,
}

/// SQLite's spelling.
pub(crate) const SQLITE: Dialect = Dialect {
    count_if: |cond| format!("SUM({cond})"),
    sum_suffix: "",
    place_group: "country, place_code, city",
};

/// PostgreSQL's spelling.
pub(crate) const POSTGRES: Dialect = Dialect {
    count_if: |cond| format!("COUNT(*) FILTER (WHERE {cond})"),
    sum_suffix: "::bigint",
    // Places are grouped by code and city as shown (`""` for none).
    place_group: "1, 2, 3",
};

/// The [`Tally`] columns; the NPS conditions come from the one banding.
fn tally_cols(d: &Dialect) -> String {
    let mut cols = vec!["COUNT(*)".to_owned()];
    for cond in tally_nps_conditions()
        .into_iter()
        .chain(["has_complaint = 'yes'".to_owned()])
    {
        cols.push((d.count_if)(&cond));
    }
    cols.push(touchpoint_cols(&format!(
        "SUM({{t}}){}, COUNT({{t}})",
        d.sum_suffix
    )));
    cols.join(", ")
}

const TALLY_WIDTH: usize = 6 + 2 * TOUCHPOINTS.len();

/// The aggregate queries over the WHERE clause `w` (all bind the same
/// parameters).
pub(crate) struct Queries {
    /// Per country and place: `country, place_code, city,` [`Tally`] columns, then one
    /// count per [`REVIEW_STATES`] entry.
    pub places: String,
    /// Per segment: `segment,` [`Tally`] columns.
    pub segments: String,
    /// Per employee: `created_by, count`.
    pub employees: String,
}

pub(crate) fn queries(w: &str, d: &Dialect) -> Queries {
    let cols = tally_cols(d);
    let review: Vec<String> = REVIEW_STATES
        .iter()
        .map(|s| match *s {
            "unreviewed" => (d.count_if)("review_state IS NULL"),
            s => (d.count_if)(&format!("review_state = '{s}'")),
        })
        .collect();
    Queries {
        places: format!(
            "SELECT country, COALESCE(place_code, ''), COALESCE(city, ''), {cols}, {}
             FROM interviews{w} GROUP BY {}",
            review.join(", "),
            d.place_group
        ),
        segments: format!(
            "SELECT COALESCE(segment, ''), {cols} FROM interviews{w}
             GROUP BY COALESCE(segment, '')"
        ),
        employees: format!("SELECT created_by, COUNT(*) FROM interviews{w} GROUP BY created_by"),
    }
}

fn count(r: &impl RowGet, i: usize) -> Result<u64> {
    let n: Option<i64> = r.at(i)?;
    u64::try_from(n.unwrap_or(0)).map_err(|_| StoreError::Corrupt("negative count".into()))
}

fn tally(r: &impl RowGet, at: usize) -> Result<Tally> {
    let mut t = Tally {
        interviews: count(r, at)?,
        with_nps: count(r, at + 1)?,
        promoters: count(r, at + 2)?,
        passives: count(r, at + 3)?,
        detractors: count(r, at + 4)?,
        complaints: count(r, at + 5)?,
        ..Tally::default()
    };
    for i in 0..TOUCHPOINTS.len() {
        t.sat_sum[i] = r.at::<Option<i64>>(at + 6 + 2 * i)?.unwrap_or(0);
        t.sat_n[i] = count(r, at + 7 + 2 * i)?;
    }
    Ok(t)
}

/// A row of [`Queries::places`].
pub(crate) struct PlaceRow {
    place: PlaceTally,
    review: [u64; REVIEW_STATES.len()],
}

pub(crate) fn place_row(r: &impl RowGet) -> Result<PlaceRow> {
    let mut review = [0u64; REVIEW_STATES.len()];
    for (i, slot) in review.iter_mut().enumerate() {
        *slot = count(r, 3 + TALLY_WIDTH + i)?;
    }
    Ok(PlaceRow {
        place: PlaceTally {
            country: r.at(0)?,
            place_code: r.at(1)?,
            city: r.at(2)?,
            tally: tally(r, 3)?,
        },
        review,
    })
}

/// A row of [`Queries::segments`].
pub(crate) fn segment_row(r: &impl RowGet) -> Result<KeyTally> {
    Ok(KeyTally {
        key: r.at(0)?,
        tally: tally(r, 1)?,
    })
}

/// A row of [`Queries::employees`].
pub(crate) fn employee_row(r: &impl RowGet) -> Result<(String, u64)> {
    Ok((r.at(0)?, count(r, 1)?))
}

/// The campaign stats from the rows of the three queries.
pub(crate) fn assemble(
    places: Vec<PlaceRow>,
    by_segment: Vec<KeyTally>,
    by_employee: Vec<(String, u64)>,
) -> CampaignStats {
    let mut out = CampaignStats {
        by_segment,
        by_employee,
        ..CampaignStats::default()
    };
    let mut review = [0u64; REVIEW_STATES.len()];
    for PlaceRow { place, review: r } in places {
        for (slot, n) in review.iter_mut().zip(r) {
            *slot += n;
        }
        out.total.merge(&place.tally);
        match out.by_country.iter_mut().find(|k| k.key == place.country) {
            Some(k) => k.tally.merge(&place.tally),
            None => out.by_country.push(KeyTally {
                key: place.country.clone(),
                tally: place.tally.clone(),
            }),
        }
        // A missing city (or code) and an empty one are the same place ("").
        match out.by_place.iter_mut().find(|p| {
            p.country == place.country && p.place_code == place.place_code && p.city == place.city
        }) {
            Some(p) => p.tally.merge(&place.tally),
            None => out.by_place.push(place),
        }
    }
    out.by_review_state = REVIEW_STATES
        .iter()
        .zip(review)
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| ((*s).to_owned(), n))
        .collect();
    out.normalise();
    out
}
