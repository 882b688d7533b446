//! Verbatims from the phrase grammar: pick a template per theme, fill its
//! slots, join the parts, and write them as an interviewer types on a phone
//! (missing accents, typos, SMS style).

use rand::Rng;
use rand::seq::IndexedRandom;

use crate::phrases::{PHRASES, SLOTS, Slots, ThemePhrases};

/// What a part of a verbatim says about its theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// A complaint or suggestion.
    Negative,
    /// A compliment (carries `praise` too).
    Positive,
}

fn slots(lang: &str) -> &'static Slots {
    SLOTS.iter().find(|s| s.lang == lang).unwrap_or(&SLOTS[0])
}

fn phrases(theme: &str, lang: &str) -> Option<&'static ThemePhrases> {
    PHRASES.iter().find(|p| p.theme == theme && p.lang == lang)
}

fn pick<'a, R: Rng>(rng: &mut R, list: &'a [&'a str]) -> &'a str {
    list.choose(rng).copied().unwrap_or("")
}

/// One part: a template of `theme` in `lang` with its slots filled.
fn part<R: Rng>(rng: &mut R, theme: &str, tone: Tone, lang: &str) -> String {
    let Some(p) = phrases(theme, lang) else {
        return String::new();
    };
    let list = match tone {
        Tone::Negative if !p.negative.is_empty() => p.negative,
        _ => p.positive,
    };
    let s = slots(lang);
    let mut out = pick(rng, list).to_owned();
    for (slot, fill) in [
        ("{place}", s.place),
        ("{time}", s.time),
        ("{since}", s.since),
        ("{very}", s.very),
    ] {
        while out.contains(slot) {
            let f = pick(rng, fill);
            out = out.replacen(slot, f, 1);
        }
    }
    out.trim().to_owned()
}

fn decapitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A verbatim saying `parts` in `lang`; each part may switch to `mix` (the
/// country's other language) with probability `mix_p`.
pub fn render<R: Rng>(
    rng: &mut R,
    lang: &str,
    parts: &[(&str, Tone)],
    mix: Option<&str>,
    mix_p: f64,
) -> String {
    let s = slots(lang);
    let mut text = String::new();
    if rng.random_bool(0.25) {
        text.push_str(pick(rng, s.opener));
        text.push(' ');
    }
    for (i, (theme, tone)) in parts.iter().enumerate() {
        // The first part sets the language; later ones may switch.
        let l = match mix {
            Some(m) if i > 0 && rng.random_bool(mix_p) => m,
            _ => lang,
        };
        let p = part(rng, theme, *tone, l);
        // After an opener or a connector the template goes on the sentence.
        let mut go_on = !text.is_empty();
        if i > 0 {
            let mut c = pick(rng, s.connector);
            if text.ends_with(['?', '!', '.', '؟']) {
                c = c.trim_start_matches([',', ';', '.', '،']).trim_start();
            }
            if !(c.starts_with(',') || c.starts_with('.') || c.starts_with(';')) {
                text.push(' ');
            }
            text.push_str(c);
            text.push(' ');
            go_on = !c.trim_end().ends_with('.');
        }
        if go_on && !p.starts_with("I ") {
            text.push_str(&decapitalise(&p));
        } else {
            text.push_str(&p);
        }
    }
    if rng.random_bool(0.2) {
        let end = text.trim_end().chars().last();
        if !matches!(end, Some('.' | '!' | '?' | '،' | '؟')) {
            text.push(',');
        }
        text.push(' ');
        text.push_str(pick(rng, s.closer));
    }
    let text = capitalise(text.trim());
    typed(rng, &text, lang)
}

/// `text` as typed in a hurry: sometimes without accents, in lower case
/// without final punctuation (SMS style), with a few typos in long words.
fn typed<R: Rng>(rng: &mut R, text: &str, lang: &str) -> String {
    let latin = lang != "ar";
    let mut out = text.to_owned();
    if latin && rng.random_bool(0.25) {
        out = strip_accents(&out);
    }
    if rng.random_bool(0.15) {
        out = out.to_lowercase();
        while out.ends_with(['.', '!']) {
            out.pop();
        }
    }
    let typo_p = if latin { 0.04 } else { 0.015 };
    out.split(' ')
        .map(|w| {
            let chars: Vec<char> = w.chars().collect();
            if chars.len() < 5
                || !chars.iter().all(|c| c.is_alphabetic())
                || !rng.random_bool(typo_p)
            {
                return w.to_owned();
            }
            let i = rng.random_range(1..chars.len() - 1);
            let mut c = chars.clone();
            match rng.random_range(0..3) {
                0 => {
                    c.remove(i);
                }
                1 => c.swap(i, i + 1),
                _ => c.insert(i, chars[i]),
            }
            c.into_iter().collect()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn strip_accents(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'à' | 'â' | 'á' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ó' | 'õ' => 'o',
            'ù' | 'û' | 'ú' | 'ü' => 'u',
            'ç' => 'c',
            'É' => 'E',
            c => c,
        })
        .collect()
}
