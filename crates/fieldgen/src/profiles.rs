//! Who answers what: per country its languages, NPS level and customer
//! names and phone prefix; per segment its NPS shift and the themes it talks
//! about most. The numbers are invented but shaped like a real campaign:
//! countries differ by several NPS points, business customers are harder to
//! please, villages complain about coverage.

/// One country's profile.
#[derive(Debug)]
pub struct Country {
    pub code: &'static str,
    /// (language, weight) of the verbatims.
    pub langs: &'static [(&'static str, u32)],
    /// Mean NPS answer (0-10).
    pub nps_mean: f64,
    /// International dialling prefix.
    pub dial: &'static str,
    /// First names and family names customers have.
    pub first: &'static [&'static str],
    pub last: &'static [&'static str],
}

const WEST_FIRST: &[&str] = &[
    "Awa", "Moussa", "Aminata", "Ibrahim", "Fatou", "Seydou", "Mariam", "Koffi", "Adjoa", "Oumar",
    "Kadiatou", "Yao",
];
const WEST_LAST: &[&str] = &[
    "Traoré",
    "Diallo",
    "Koné",
    "Ouédraogo",
    "Camara",
    "Sow",
    "Kouassi",
    "Coulibaly",
    "Ndiaye",
    "Bamba",
];
const CENTRAL_FIRST: &[&str] = &[
    "Jean-Paul",
    "Béatrice",
    "Christian",
    "Grâce",
    "Patrick",
    "Mireille",
    "Dieudonné",
    "Nadège",
];
const CENTRAL_LAST: &[&str] = &[
    "Mbarga",
    "Kabila",
    "Nzeza",
    "Ngoma",
    "Tshibanda",
    "Fotso",
    "Yakité",
    "Mukendi",
];
const ARAB_FIRST: &[&str] = &[
    "Ahmed", "Fatma", "Youssef", "Khadija", "Omar", "Salma", "Karim", "Leila", "Hassan", "Nour",
];
const ARAB_LAST: &[&str] = &[
    "Ben Ali",
    "El Amrani",
    "Haddad",
    "Mansour",
    "Trabelsi",
    "Khalil",
    "Saleh",
    "Nasser",
];
const EN_FIRST: &[&str] = &[
    "Kabelo", "Grace", "Mohamed", "Esther", "Thabo", "Fatmata", "Joseph", "Comfort",
];
const EN_LAST: &[&str] = &[
    "Molefe", "Kamara", "Sesay", "Johnson", "Dlamini", "Kollie", "Mensah", "Bangura",
];
const PT_FIRST: &[&str] = &["Domingos", "Maria", "Armando", "Fatumata", "Júlio", "Nhima"];
const PT_LAST: &[&str] = &["Gomes", "Cá", "Mendes", "Sanhá", "Có", "Vieira"];

const FR: &[(&str, u32)] = &[("fr", 92), ("en", 8)];

/// The 17 countries of the campaign.
pub const COUNTRIES: [Country; 17] = [
    Country {
        code: "BF",
        langs: FR,
        nps_mean: 8.1,
        dial: "+226",
        first: WEST_FIRST,
        last: WEST_LAST,
    },
    Country {
        code: "BW",
        langs: &[("en", 100)],
        nps_mean: 9.0,
        dial: "+267",
        first: EN_FIRST,
        last: EN_LAST,
    },
    Country {
        code: "CD",
        langs: FR,
        nps_mean: 6.8,
        dial: "+243",
        first: CENTRAL_FIRST,
        last: CENTRAL_LAST,
    },
    Country {
        code: "CF",
        langs: FR,
        nps_mean: 7.1,
        dial: "+236",
        first: CENTRAL_FIRST,
        last: CENTRAL_LAST,
    },
    Country {
        code: "CI",
        langs: FR,
        nps_mean: 8.6,
        dial: "+225",
        first: WEST_FIRST,
        last: WEST_LAST,
    },
    Country {
        code: "CM",
        langs: &[("fr", 60), ("en", 40)],
        nps_mean: 7.6,
        dial: "+237",
        first: CENTRAL_FIRST,
        last: CENTRAL_LAST,
    },
    Country {
        code: "EG",
        langs: &[("ar", 85), ("en", 15)],
        nps_mean: 8.3,
        dial: "+20",
        first: ARAB_FIRST,
        last: ARAB_LAST,
    },
    Country {
        code: "GN",
        langs: FR,
        nps_mean: 7.4,
        dial: "+224",
        first: WEST_FIRST,
        last: WEST_LAST,
    },
    Country {
        code: "GW",
        langs: &[("pt", 90), ("fr", 10)],
        nps_mean: 7.8,
        dial: "+245",
        first: PT_FIRST,
        last: PT_LAST,
    },
    Country {
        code: "JO",
        langs: &[("ar", 80), ("en", 20)],
        nps_mean: 9.1,
        dial: "+962",
        first: ARAB_FIRST,
        last: ARAB_LAST,
    },
    Country {
        code: "LR",
        langs: &[("en", 100)],
        nps_mean: 7.2,
        dial: "+231",
        first: EN_FIRST,
        last: EN_LAST,
    },
    Country {
        code: "MA",
        langs: &[("ar", 55), ("fr", 45)],
        nps_mean: 8.8,
        dial: "+212",
        first: ARAB_FIRST,
        last: ARAB_LAST,
    },
    Country {
        code: "MG",
        langs: &[("fr", 100)],
        nps_mean: 8.2,
        dial: "+261",
        first: CENTRAL_FIRST,
        last: CENTRAL_LAST,
    },
    Country {
        code: "ML",
        langs: FR,
        nps_mean: 7.7,
        dial: "+223",
        first: WEST_FIRST,
        last: WEST_LAST,
    },
    Country {
        code: "SL",
        langs: &[("en", 100)],
        nps_mean: 7.5,
        dial: "+232",
        first: EN_FIRST,
        last: EN_LAST,
    },
    Country {
        code: "SN",
        langs: FR,
        nps_mean: 9.3,
        dial: "+221",
        first: WEST_FIRST,
        last: WEST_LAST,
    },
    Country {
        code: "TN",
        langs: &[("ar", 55), ("fr", 45)],
        nps_mean: 8.4,
        dial: "+216",
        first: ARAB_FIRST,
        last: ARAB_LAST,
    },
];

/// The profile of `code`, if it is a campaign country.
pub fn country(code: &str) -> Option<&'static Country> {
    COUNTRIES.iter().find(|c| c.code == code)
}

/// NPS shift of each segment (in `survey_model::mcmb::SEGMENTS` order) and
/// its mix in the campaign (weights).
pub const SEGMENT_NPS_SHIFT: [f64; 4] = [0.0, -1.1, 0.6, -0.4];
pub const SEGMENT_WEIGHT: [u32; 4] = [55, 15, 22, 8];

/// The complaint themes (not `praise`), with their base weight and their
/// extra weight for each segment (SEGMENTS order), and in villages.
pub const COMPLAINT_THEMES: [(&str, u32, [u32; 4], u32); 9] = [
    ("network_coverage", 22, [0, 0, 0, 0], 25),
    ("data_speed", 16, [0, 6, 0, 0], 8),
    ("price", 14, [0, 0, 4, 0], 0),
    ("mobile_money", 10, [0, 0, 22, 14], 0),
    ("shops_agents", 8, [0, 0, 6, 16], 4),
    ("call_centre", 9, [0, 8, 0, 4], 0),
    ("billing", 8, [0, 12, 0, 4], 0),
    ("sim_device", 6, [0, 0, 0, 0], 2),
    ("offers", 7, [2, 8, 0, 0], 0),
];

/// The complaint category and the root causes (weights over
/// network, it, operations, organisation, unknown) of each complaint theme.
pub fn complaint_of(theme: &str) -> (&'static str, [u32; 5]) {
    match theme {
        "network_coverage" => ("network_coverage", [80, 0, 10, 0, 10]),
        "data_speed" => ("data_speed", [70, 10, 10, 0, 10]),
        "price" => ("pricing", [0, 0, 10, 80, 10]),
        "mobile_money" => ("mobile_money", [5, 55, 30, 0, 10]),
        "shops_agents" => ("shop_service", [0, 5, 65, 20, 10]),
        "call_centre" => ("call_centre", [0, 10, 30, 50, 10]),
        "billing" => ("billing", [0, 75, 10, 5, 10]),
        "sim_device" => ("sim_device", [0, 30, 55, 5, 10]),
        _ => ("other", [0, 0, 20, 70, 10]),
    }
}

/// The touchpoint rating a theme moves.
pub fn touchpoint_of(theme: &str) -> Option<&'static str> {
    Some(match theme {
        "network_coverage" | "data_speed" => "sat_network",
        "shops_agents" => "sat_shop",
        "call_centre" => "sat_call_centre",
        "billing" | "price" => "sat_billing",
        "mobile_money" => "sat_mobile_money",
        _ => return None,
    })
}
