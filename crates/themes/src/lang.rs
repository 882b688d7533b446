//! Normalisation and language identification of verbatims.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// The campaign's verbatim languages.
pub const LANGUAGES: [&str; 4] = ["fr", "en", "ar", "pt"];

/// The language of a verbatim: what `whatlang` reads in it among the
/// campaign's four languages when it is sure, else what the interviewer
/// said (`stated`), else `other`. Interviewers pick a language once and
/// forget to change it; the text says what it is written in.
pub fn language_of(text: &str, stated: Option<&str>) -> String {
    use whatlang::{Detector, Lang};
    let detector = Detector::with_allowlist(vec![Lang::Fra, Lang::Eng, Lang::Ara, Lang::Por]);
    if let Some(info) = detector.detect(text)
        && info.is_reliable()
    {
        return match info.lang() {
            Lang::Fra => "fr",
            Lang::Eng => "en",
            Lang::Ara => "ar",
            _ => "pt",
        }
        .to_owned();
    }
    match stated {
        Some(l) if LANGUAGES.contains(&l) => l.to_owned(),
        _ => "other".to_owned(),
    }
}

/// Normalise text: lower case, no diacritics (NFKD minus combining marks),
/// Arabic alef/yeh/teh-marbuta variants folded, tatweel removed.
pub fn normalize(text: &str) -> String {
    text.nfkd()
        .filter(|c| !is_combining_mark(*c) && *c != '\u{0640}')
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'أ' | 'إ' | 'آ' | 'ٱ' => 'ا',
            'ى' => 'ي',
            'ة' => 'ه',
            c => c,
        })
        .collect()
}

/// Words of a text: maximal runs of letters/digits; apostrophes split words.
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_folds_case_accents_and_arabic_variants() {
        assert_eq!(normalize("Réseau"), "reseau");
        assert_eq!(normalize("ÀÉÎÕÜ"), "aeiou");
        assert_eq!(normalize("أإآ"), "ااا");
        assert_eq!(normalize("الشبكـة"), "الشبكه");
    }

    #[test]
    fn the_text_tells_its_language_better_than_the_interviewer() {
        for (text, stated, want) in [
            (
                "Le réseau coupe tous les soirs dans notre quartier, c'est insupportable",
                Some("en"),
                "fr",
            ),
            (
                "The shop staff were very helpful but the data bundles are too expensive",
                Some("fr"),
                "en",
            ),
            (
                "الشبكة ضعيفة جدا في المساء ولا أستطيع الاتصال بعائلتي",
                Some("fr"),
                "ar",
            ),
            (
                "A rede cai muitas vezes à noite e o atendimento na loja é muito lento",
                Some("fr"),
                "pt",
            ),
            ("ok", Some("pt"), "pt"),
            ("ok", Some("xx"), "other"),
        ] {
            assert_eq!(language_of(text, stated), want, "{text}");
        }
    }
}
