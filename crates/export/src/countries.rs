//! Country names in the report's languages (ISO 3166 alpha-2 codes of the
//! campaign's countries and their neighbours); other codes show as codes.

/// (code, en, fr, ar, pt)
const NAMES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "BF",
        "Burkina Faso",
        "Burkina Faso",
        "بوركينا فاسو",
        "Burkina Faso",
    ),
    ("BW", "Botswana", "Botswana", "بوتسوانا", "Botsuana"),
    (
        "CD",
        "DR Congo",
        "RD Congo",
        "الكونغو الديمقراطية",
        "RD Congo",
    ),
    (
        "CF",
        "Central African Republic",
        "Centrafrique",
        "جمهورية أفريقيا الوسطى",
        "República Centro-Africana",
    ),
    ("CG", "Congo", "Congo", "الكونغو", "Congo"),
    (
        "CI",
        "Côte d'Ivoire",
        "Côte d'Ivoire",
        "ساحل العاج",
        "Costa do Marfim",
    ),
    ("CM", "Cameroon", "Cameroun", "الكاميرون", "Camarões"),
    ("EG", "Egypt", "Égypte", "مصر", "Egito"),
    ("GA", "Gabon", "Gabon", "الغابون", "Gabão"),
    ("GH", "Ghana", "Ghana", "غانا", "Gana"),
    ("GN", "Guinea", "Guinée", "غينيا", "Guiné"),
    (
        "GW",
        "Guinea-Bissau",
        "Guinée-Bissau",
        "غينيا بيساو",
        "Guiné-Bissau",
    ),
    ("JO", "Jordan", "Jordanie", "الأردن", "Jordânia"),
    ("LR", "Liberia", "Liberia", "ليبيريا", "Libéria"),
    ("MA", "Morocco", "Maroc", "المغرب", "Marrocos"),
    ("MG", "Madagascar", "Madagascar", "مدغشقر", "Madagáscar"),
    ("ML", "Mali", "Mali", "مالي", "Mali"),
    ("NE", "Niger", "Niger", "النيجر", "Níger"),
    (
        "SL",
        "Sierra Leone",
        "Sierra Leone",
        "سيراليون",
        "Serra Leoa",
    ),
    ("SN", "Senegal", "Sénégal", "السنغال", "Senegal"),
    ("TD", "Chad", "Tchad", "تشاد", "Chade"),
    ("TN", "Tunisia", "Tunisie", "تونس", "Tunísia"),
];

/// The name of country `code` in `lang` (the code when unknown).
pub fn name(code: &str, lang: &str) -> String {
    NAMES.iter().find(|n| n.0 == code).map_or_else(
        || code.to_owned(),
        |(_, en, fr, ar, pt)| {
            match lang {
                "fr" => fr,
                "ar" => ar,
                "pt" => pt,
                _ => en,
            }
            .to_string()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_four_languages_and_the_campaigns_countries_all_named() {
        assert_eq!(name("CI", "fr"), "Côte d'Ivoire");
        assert_eq!(name("MA", "ar"), "المغرب");
        assert_eq!(name("GW", "pt"), "Guiné-Bissau");
        assert_eq!(name("XX", "fr"), "XX");
        for line in survey_model::MCMB_PLACES_CSV.lines().skip(1) {
            let code = line.split(',').nth(1).unwrap_or("");
            assert_ne!(name(code, "en"), code, "{code} has a name");
        }
    }
}
