//! The one home of the "My Customer, My Boss" form's domain names that code
//! uses directly: the touchpoints rated for satisfaction, the customer
//! segments, the complaint categories and the complaint root causes. Stores,
//! dashboards, exports, demo data and tests take them from here; a test
//! checks each list against the built-in form, so they cannot drift from it.

/// The satisfaction questions (ratings 1–5), one per touchpoint, in display
/// order: network, shops, call centre, billing, Mobile Money.
pub const TOUCHPOINTS: [&str; 5] = [
    "sat_network",
    "sat_shop",
    "sat_call_centre",
    "sat_billing",
    "sat_mobile_money",
];

/// The question that names the interview's place by its code in the
/// campaign's place list (MCMB v2 on; v1 has the free-text `city`).
pub const PLACE_QUESTION: &str = "place";

/// The options of `segment`, in form order.
pub const SEGMENTS: [&str; 4] = ["individual", "business", "mobile_money_user", "partner"];

/// The options of `complaint_categories`, in form order (`other` last).
pub const COMPLAINT_CATEGORIES: [&str; 10] = [
    "network_coverage",
    "data_speed",
    "call_quality",
    "billing",
    "pricing",
    "mobile_money",
    "shop_service",
    "call_centre",
    "sim_device",
    "other",
];

/// The options of `complaint_root_cause`, in form order: the four known
/// causes, then `unknown`.
pub const ROOT_CAUSES: [&str; 5] = ["network", "it", "operations", "organisation", "unknown"];

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::QuestionType;

    fn options(name: &str) -> Vec<String> {
        let form = crate::mcmb_form().unwrap();
        let q = form.question(name).unwrap();
        q.options.iter().map(|o| o.value.clone()).collect()
    }

    #[test]
    fn the_lists_are_the_built_in_forms() {
        let form = crate::mcmb_form().unwrap();
        let ratings: Vec<&str> = form
            .questions()
            .iter()
            .filter(|q| q.kind == QuestionType::Rating)
            .map(|q| q.name.as_str())
            .collect();
        assert_eq!(ratings, TOUCHPOINTS);
        assert_eq!(options("segment"), SEGMENTS);
        assert_eq!(options("complaint_categories"), COMPLAINT_CATEGORIES);
        assert_eq!(options("complaint_root_cause"), ROOT_CAUSES);
    }
}
