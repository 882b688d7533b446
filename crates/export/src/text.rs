//! Frequent words and phrases in verbatims: stop words for fr/en/ar/pt and
//! counting of keywords and two-word phrases per language, on the `themes`
//! crate's normalisation.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

const STOP_EN: &str = "a about above after again against all also am an and any are as at be because been before being below between both but by can could did do does doing down during each few for from further get got had has have having he her here hers him his how i if in into is it its itself just let me more most much my no nor not now of off on once only or other our ours out over own please really same she should so some such than that the their theirs them then there these they this those through to too under until up us very was we were what when where which while who whom why will with would you your yours yes okay ok thing things lot always never every even still well make made";
const STOP_FR: &str = "a afin ai aie aient ainsi alors au aucun aussi autre aux avec avoir avons ayant bien c ca ce ceci cela celle celles celui cependant certains ces cet cette ceux chaque chez ci comme comment d dans de des deux donc dont du elle elles en encore entre est et etaient etait ete etre eu eux fait faire faut fois font hors il ils j je jusqu l la le les leur leurs lui m ma mais me meme mes moi moins mon n ne ni non nos notre nous on ont ou par parce pas peu peut plus plutot pour pourquoi qu quand que quel quelle quelles quels qui quoi s sa sans se ses si sinon soit son sont sous suis sur t ta te tes toi ton tous tout toute toutes tres tu un une vers via voila vos votre vous y oui vraiment souvent toujours jamais chose choses beaucoup trop svp plait";
const STOP_PT: &str = "a ao aos aquela aquele aqueles aquilo as ate com como da das de dela dele deles depois do dos e ela elas ele eles em entre era eram essa esse esta estao estava este eu foi foram ha isso isto ja la lhe mais mas me mesmo meu minha muito muita na nao nas nem no nos nossa nosso num numa o os ou para pela pelas pelo pelos por porque quando que quem se sem ser seu sua sao so sobre tambem te tem ter tinha um uma voce voces vez vezes sempre nunca coisa coisas bem favor sim";
const STOP_AR: &str = "في من على الى إلى عن مع هذا هذه ذلك تلك التي الذي الذين هو هي هم نحن انا أنا انت أنت كان كانت يكون لا لم لن ما ماذا متى اين أين كيف كل بعض او أو ثم قد لقد و ف ب ل ك عند حتى اذا إذا بين فوق تحت بعد قبل ايضا أيضا جدا غير دائما لكن هناك هنا يا نعم";

/// Languages with a stop-word list.
pub const THEME_LANGUAGES: [&str; 4] = themes::LANGUAGES;

pub use themes::lang::{language_of, normalize, words};

/// Stop words of a language (normalised); unknown languages get all lists.
pub fn stop_words(lang: &str) -> HashSet<String> {
    let lists: Vec<&str> = match lang {
        "en" => vec![STOP_EN],
        "fr" => vec![STOP_FR],
        "pt" => vec![STOP_PT],
        "ar" => vec![STOP_AR],
        _ => vec![STOP_EN, STOP_FR, STOP_PT, STOP_AR],
    };
    lists
        .iter()
        .flat_map(|l| l.split_whitespace())
        .map(normalize)
        .collect()
}

/// A counted term.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Term {
    pub term: String,
    /// Number of respondents mentioning it (in any of their texts).
    pub count: u64,
}

/// Keyword and phrase counts of one language.
#[derive(Debug, Clone)]
pub struct ThemeCounter {
    stop: HashSet<String>,
    /// normalised -> (count, first surface form seen)
    keywords: HashMap<String, (u64, String)>,
    phrases: HashMap<String, (u64, String)>,
    pub texts: u64,
    /// Respondents with at least one text counted.
    pub respondents: u64,
}

impl ThemeCounter {
    pub fn new(lang: &str) -> ThemeCounter {
        ThemeCounter {
            stop: stop_words(lang),
            keywords: HashMap::new(),
            phrases: HashMap::new(),
            texts: 0,
            respondents: 0,
        }
    }

    /// Count one respondent's text (see [`ThemeCounter::add_respondent`]).
    pub fn add(&mut self, text: &str) {
        self.add_respondent(&[text]);
    }

    /// Count one respondent's texts: each keyword and phrase at most once per
    /// respondent, whatever it wrote in how many answers. Phrases are two
    /// adjacent content words of one text (a stop word breaks the chain).
    pub fn add_respondent(&mut self, texts: &[&str]) {
        let mut seen_k: HashSet<String> = HashSet::new();
        let mut seen_p: HashSet<String> = HashSet::new();
        let mut counted = false;
        for text in texts {
            if self.add_text(text, &mut seen_k, &mut seen_p) {
                self.texts += 1;
                counted = true;
            }
        }
        if counted {
            self.respondents += 1;
        }
    }

    /// Count `text`'s terms not in `seen_*` yet; whether it had any content.
    fn add_text(
        &mut self,
        text: &str,
        seen_k: &mut HashSet<String>,
        seen_p: &mut HashSet<String>,
    ) -> bool {
        let mut prev: Option<(String, String)> = None;
        let mut any = false;
        for w in words(text) {
            let norm = normalize(w);
            let content = norm.chars().count() >= 3
                && !norm.chars().all(|c| c.is_numeric())
                && !self.stop.contains(&norm);
            if !content {
                prev = None;
                continue;
            }
            any = true;
            let surface = w.to_lowercase();
            if seen_k.insert(norm.clone()) {
                self.keywords
                    .entry(norm.clone())
                    .or_insert_with(|| (0, surface.clone()))
                    .0 += 1;
            }
            if let Some((pn, ps)) = &prev {
                let key = format!("{pn} {norm}");
                if seen_p.insert(key.clone()) {
                    self.phrases
                        .entry(key)
                        .or_insert_with(|| (0, format!("{ps} {surface}")))
                        .0 += 1;
                }
            }
            prev = Some((norm, surface));
        }
        any
    }

    /// The `n` most frequent keywords mentioned by at least `min_count` respondents
    /// (ties broken alphabetically, so the result is deterministic).
    pub fn top_keywords(&self, n: usize, min_count: u64) -> Vec<Term> {
        top(&self.keywords, n, min_count)
    }
    pub fn top_phrases(&self, n: usize, min_count: u64) -> Vec<Term> {
        top(&self.phrases, n, min_count)
    }
}

fn top(map: &HashMap<String, (u64, String)>, n: usize, min_count: u64) -> Vec<Term> {
    let mut v: Vec<(&String, &(u64, String))> =
        map.iter().filter(|(_, (c, _))| *c >= min_count).collect();
    v.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(b.0)));
    v.into_iter()
        .take(n)
        .map(|(_, (count, surface))| Term {
            term: surface.clone(),
            count: *count,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_and_phrases_skip_stop_words_and_count_once_per_text() {
        let mut c = ThemeCounter::new("fr");
        c.add("Le réseau coupe le soir, le réseau coupe encore !");
        c.add("Réseau lent; s'il vous plaît améliorez la couverture réseau.");
        c.add("");
        assert_eq!(c.texts, 2);
        let k = c.top_keywords(3, 1);
        assert_eq!(
            k[0],
            Term {
                term: "réseau".into(),
                count: 2
            }
        );
        let p = c.top_phrases(10, 1);
        assert!(p.iter().any(|t| t.term == "réseau coupe" && t.count == 1));
        assert!(p.iter().any(|t| t.term == "couverture réseau"));
        // "le" and "la" are stop words: no phrase crosses them.
        assert!(!p.iter().any(|t| t.term.contains("coupe soir")));
        assert!(c.top_keywords(10, 2).iter().all(|t| t.count >= 2));
    }

    #[test]
    fn arabic_and_portuguese_themes() {
        let mut ar = ThemeCounter::new("ar");
        ar.add("الشبكة ضعيفة في المساء");
        ar.add("الشبكة ضعيفة جدا");
        let p = ar.top_phrases(5, 2);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].count, 2);
        let mut pt = ThemeCounter::new("pt");
        pt.add("A rede cai muitas vezes à noite");
        let k: Vec<String> = pt.top_keywords(10, 1).into_iter().map(|t| t.term).collect();
        assert!(k.contains(&"rede".to_owned()));
        assert!(!k.contains(&"vezes".to_owned()));
    }

    #[test]
    fn a_respondent_counts_once_whatever_it_wrote_in_how_many_answers() {
        let mut c = ThemeCounter::new("fr");
        c.add_respondent(&["Le réseau coupe", "réseau lent", "", "réseau coupe encore"]);
        c.add_respondent(&["Pas de réseau"]);
        assert_eq!((c.respondents, c.texts), (2, 4));
        assert_eq!(c.top_keywords(1, 1)[0].count, 2, "réseau: two respondents");
        let p = c.top_phrases(10, 1);
        assert!(p.iter().any(|t| t.term == "réseau coupe" && t.count == 1));
        assert!(
            c.top_keywords(10, 3).is_empty(),
            "no term reaches three respondents"
        );
    }
}
