//! Hackathon actions, the parts both backends share: the listing query and
//! the stored form of the list columns.

use crate::ActionItem;
use crate::query::Binder;
use crate::rows::ACTION_COLS;

/// The listing query of the actions of `countries` (empty: all).
pub(crate) fn list_sql<B: Binder>(countries: &[String]) -> (String, B) {
    let mut b = B::default();
    let w = if countries.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", b.one_of("country", countries))
    };
    (
        format!(
            "SELECT {ACTION_COLS} FROM actions{w} ORDER BY country, campaign, due_date, created_at, id"
        ),
        b,
    )
}

/// The JSON text of a list column.
pub(crate) fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

/// The stored text of an action's list columns: root causes, themes, evidence.
pub(crate) fn lists(a: &ActionItem) -> [String; 3] {
    [
        json_list(&a.root_causes),
        json_list(&a.themes),
        json_list(&a.evidence),
    ]
}
