//! The codebook written beside every export: one entry per column, in all
//! four languages at once (en, fr, ar, pt): its type, the question's text
//! and short label, its section, the allowed range, the options with their
//! labels, the skip rule in words, the form versions it exists in and the
//! missing-value convention. `codebook.json` is the whole of it;
//! `codebook.csv` the same, flat (options as `value=label | ...`), with a
//! UTF-8 byte order mark so that Excel shows the Arabic.

use std::path::Path;

use serde::Serialize;
use survey_model::form::{CompareOp, Condition, today_offset};
use survey_model::{Form, Question, QuestionType};

use crate::columns::{Plan, Source};
use crate::{ExportError, LANGUAGES};

/// Text in the four languages, in [`LANGUAGES`] order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Texts {
    pub en: String,
    pub fr: String,
    pub ar: String,
    pub pt: String,
}

impl Texts {
    fn from_fn(mut f: impl FnMut(&str) -> String) -> Texts {
        Texts {
            en: f("en"),
            fr: f("fr"),
            ar: f("ar"),
            pt: f("pt"),
        }
    }
    fn all(&self) -> [&str; 4] {
        [&self.en, &self.fr, &self.ar, &self.pt]
    }
}

/// One option of a coded column.
#[derive(Debug, Clone, Serialize)]
pub struct CodeLabel {
    pub value: String,
    pub label: Texts,
}

/// One column of the codebook.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub column: String,
    #[serde(rename = "type")]
    pub ty: &'static str,
    pub question: Option<String>,
    pub section: Option<String>,
    pub section_label: Texts,
    pub label: Texts,
    pub short_label: Texts,
    /// The allowed values in words (`0-10`, `at most 500 characters`, ...).
    pub range: String,
    pub options: Vec<CodeLabel>,
    /// When the question is asked (empty: always).
    pub asked_when: Texts,
    pub versions: Vec<String>,
    pub note: String,
    /// What an empty cell means in this column.
    pub missing: String,
}

/// Key columns' labels in fr, ar and pt (English is the plan's own label).
const KEY_LABELS: &[(&str, &str, &str, &str)] = &[
    (
        "interview_id",
        "Identifiant de l'entretien",
        "معرّف المقابلة",
        "Identificador da entrevista",
    ),
    (
        "country",
        "Pays (code ISO)",
        "البلد (رمز ISO)",
        "País (código ISO)",
    ),
    ("country_label", "Nom du pays", "اسم البلد", "Nome do país"),
    ("campaign", "Campagne", "الحملة", "Campanha"),
    ("form_id", "Formulaire", "الاستمارة", "Formulário"),
    (
        "form_version",
        "Version du formulaire",
        "نسخة الاستمارة",
        "Versão do formulário",
    ),
    (
        "created_by",
        "Enquêteur (identifiant pseudonyme)",
        "المحاور (معرّف مستعار)",
        "Entrevistador (identificador pseudónimo)",
    ),
    (
        "interviewer_login",
        "Identifiant de connexion de l'enquêteur",
        "اسم دخول المحاور",
        "Login do entrevistador",
    ),
    ("device_id", "Appareil", "الجهاز", "Dispositivo"),
    ("created_at", "Début (UTC)", "البداية (UTC)", "Início (UTC)"),
    ("status", "Statut", "الحالة", "Estado"),
    (
        "submitted_at",
        "Envoyé le (UTC)",
        "أُرسلت في (UTC)",
        "Enviada em (UTC)",
    ),
    (
        "review_state",
        "État de la revue",
        "حالة المراجعة",
        "Estado da revisão",
    ),
    (
        "reviewed_by",
        "Revu par (identifiant pseudonyme)",
        "راجعها (معرّف مستعار)",
        "Revista por (identificador pseudónimo)",
    ),
    (
        "reviewer_login",
        "Identifiant de connexion du réviseur",
        "اسم دخول المراجع",
        "Login do revisor",
    ),
    (
        "reviewed_at",
        "Revu le (UTC)",
        "روجعت في (UTC)",
        "Revista em (UTC)",
    ),
    ("tags", "Étiquettes", "الوسوم", "Etiquetas"),
    (
        "comment_count",
        "Nombre de commentaires",
        "عدد التعليقات",
        "Número de comentários",
    ),
    (
        "comments",
        "Commentaires de revue",
        "تعليقات المراجعة",
        "Comentários da revisão",
    ),
    (
        "quality_flags",
        "Réponses écartées",
        "إجابات مستبعدة",
        "Respostas afastadas",
    ),
    (
        "checks",
        "Contrôles qualité déclenchés",
        "فحوص الجودة المنبهة",
        "Verificações de qualidade acionadas",
    ),
    (
        "duration_s",
        "Durée (secondes)",
        "المدة (ثوانٍ)",
        "Duração (segundos)",
    ),
    (
        "edits",
        "Réponses modifiées",
        "إجابات معدّلة",
        "Respostas alteradas",
    ),
    (
        "clock_skew_s",
        "Décalage d'horloge (secondes)",
        "فرق الساعة (ثوانٍ)",
        "Desvio do relógio (segundos)",
    ),
    (
        "not_asked",
        "Questions non posées",
        "أسئلة لم تُطرح",
        "Perguntas não feitas",
    ),
];

/// Words of the skip rule, per language:
/// (asked when, is answered, is, is not, <, <=, >, >=, includes, and, or, not,
/// number of characters of, number of options chosen in, matches, today, days).
struct Words {
    when: &'static str,
    answered: &'static str,
    ops: [&'static str; 6],
    includes: &'static str,
    and: &'static str,
    or: &'static str,
    not: &'static str,
    length: &'static str,
    count: &'static str,
    matches: &'static str,
    today: &'static str,
}

fn words(lang: &str) -> Words {
    match lang {
        "fr" => Words {
            when: "Posée si",
            answered: "est renseignée",
            ops: ["=", "≠", "<", "≤", ">", "≥"],
            includes: "contient l'option",
            and: "et",
            or: "ou",
            not: "non",
            length: "nombre de caractères de",
            count: "nombre d'options choisies dans",
            matches: "correspond à",
            today: "aujourd'hui",
        },
        "ar" => Words {
            when: "تُطرح إذا",
            answered: "مُجابة",
            ops: ["=", "≠", "<", "≤", ">", "≥"],
            includes: "تتضمن الخيار",
            and: "و",
            or: "أو",
            not: "ليس",
            length: "عدد أحرف",
            count: "عدد الخيارات المختارة في",
            matches: "تطابق",
            today: "اليوم",
        },
        "pt" => Words {
            when: "Feita se",
            answered: "está respondida",
            ops: ["=", "≠", "<", "≤", ">", "≥"],
            includes: "inclui a opção",
            and: "e",
            or: "ou",
            not: "não",
            length: "número de caracteres de",
            count: "número de opções escolhidas em",
            matches: "corresponde a",
            today: "hoje",
        },
        _ => Words {
            when: "Asked when",
            answered: "is answered",
            ops: ["=", "≠", "<", "≤", ">", "≥"],
            includes: "includes option",
            and: "and",
            or: "or",
            not: "not",
            length: "number of characters of",
            count: "number of options chosen in",
            matches: "matches",
            today: "today",
        },
    }
}

fn op(w: &Words, o: CompareOp) -> &'static str {
    let i = match o {
        CompareOp::Eq => 0,
        CompareOp::Ne => 1,
        CompareOp::Lt => 2,
        CompareOp::Le => 3,
        CompareOp::Gt => 4,
        CompareOp::Ge => 5,
    };
    w.ops[i]
}

fn value_words(w: &Words, v: &serde_json::Value) -> String {
    if let Some(days) = today_offset(v) {
        return match days {
            0 => w.today.to_owned(),
            d => format!("{} {d:+}", w.today),
        };
    }
    match v {
        serde_json::Value::String(s) => format!("`{s}`"),
        other => other.to_string(),
    }
}

/// A skip rule in words (question names and option codes in backquotes).
pub fn condition_words(c: &Condition, lang: &str) -> String {
    let w = words(lang);
    fn go(c: &Condition, w: &Words) -> String {
        match c {
            Condition::Answered { answered } => format!("`{answered}` {}", w.answered),
            Condition::Compare { q, op: o, value } => {
                format!("`{q}` {} {}", op(w, *o), value_words(w, value))
            }
            Condition::Selected { selected, option } => {
                format!("`{selected}` {} `{option}`", w.includes)
            }
            Condition::All { all } => join(all, w, w.and),
            Condition::Any { any } => join(any, w, w.or),
            Condition::Not { not } => format!("{} ({})", w.not, go(not, w)),
            Condition::Length {
                length,
                op: o,
                value,
            } => format!("{} `{length}` {} {value}", w.length, op(w, *o)),
            Condition::Regex { regex, pattern } => {
                format!("`{regex}` {} /{pattern}/", w.matches)
            }
            Condition::CountSelected {
                count_selected,
                op: o,
                value,
            } => format!("{} `{count_selected}` {} {value}", w.count, op(w, *o)),
            Condition::Expr { expr } => format!("`{expr}`"),
        }
    }
    fn join(cs: &[Condition], w: &Words, sep: &str) -> String {
        cs.iter()
            .map(|c| match c {
                Condition::All { .. } | Condition::Any { .. } => format!("({})", go(c, w)),
                _ => go(c, w),
            })
            .collect::<Vec<_>>()
            .join(&format!(" {sep} "))
    }
    format!("{} {}", w.when, go(c, &w))
}

/// The allowed values of a question, in words.
fn range_words(q: &Question) -> String {
    let mut parts = Vec::new();
    match q.kind {
        QuestionType::Integer | QuestionType::Nps | QuestionType::Rating => {
            let (lo, hi) = q.numeric_range();
            match (lo > i64::MIN, hi < i64::MAX) {
                (true, true) => parts.push(format!("{lo}-{hi}")),
                (true, false) => parts.push(format!(">= {lo}")),
                (false, true) => parts.push(format!("<= {hi}")),
                (false, false) => {}
            }
        }
        QuestionType::Decimal => {
            if let Some(lo) = q.min {
                parts.push(format!(">= {lo}"));
            }
            if let Some(hi) = q.max {
                parts.push(format!("<= {hi}"));
            }
        }
        QuestionType::Date => {
            if let Some(d) = &q.min_date {
                parts.push(format!("from {d}"));
            }
            if let Some(d) = &q.max_date {
                parts.push(format!("to {d}"));
            }
        }
        QuestionType::MultiChoice => {
            if let Some(n) = q.min_selected {
                parts.push(format!("at least {n} chosen"));
            }
            if let Some(n) = q.max_selected {
                parts.push(format!("at most {n} chosen"));
            }
        }
        QuestionType::Text => {
            if let Some(n) = q.max_length {
                parts.push(format!("at most {n} characters"));
            }
        }
        _ => {}
    }
    parts.join(", ")
}

/// The codebook of `plan` (built from `forms`, newest version first per id).
pub fn entries(plan: &Plan, forms: &[&Form]) -> Vec<Entry> {
    // The same plan in each language: same columns, labels translated.
    let per_lang: Vec<Plan> = LANGUAGES
        .iter()
        .map(|l| plan.in_language(forms, l))
        .collect();
    let newest = |name: &str| -> Option<(&Form, &Question)> {
        forms.iter().find_map(|f| f.question(name).map(|q| (*f, q)))
    };
    plan.columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let at = |lang: &str| {
                let k = LANGUAGES.iter().position(|l| *l == lang).unwrap_or(0);
                &per_lang[k].columns[i]
            };
            let key = KEY_LABELS.iter().find(|k| k.0 == c.name);
            let (label, short_label) = match (key, &c.question) {
                (Some((_, fr, ar, pt)), None) => {
                    let t = Texts {
                        en: at("en").label.clone(),
                        fr: (*fr).into(),
                        ar: (*ar).into(),
                        pt: (*pt).into(),
                    };
                    (t.clone(), t)
                }
                _ => (
                    Texts::from_fn(|l| at(l).label.clone()),
                    Texts::from_fn(|l| at(l).short_label.clone()),
                ),
            };
            let q = c.question.as_deref().and_then(newest);
            let coded = matches!(c.source, Source::Answer(_) | Source::Label(_));
            let options = if coded {
                (0..c.options.len())
                    .map(|k| CodeLabel {
                        value: c.options[k].0.clone(),
                        label: Texts::from_fn(|l| {
                            at(l)
                                .options
                                .get(k)
                                .map(|o| o.1.clone())
                                .unwrap_or_default()
                        }),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let section = q.and_then(|(_, q)| q.section.clone());
            let section_label = match (q, &section) {
                (Some((f, _)), Some(id)) => f
                    .def()
                    .sections
                    .iter()
                    .find(|s| &s.id == id)
                    .map(|s| {
                        let fb = f.def().default_language.as_str();
                        Texts::from_fn(|l| s.label.get(l, fb).to_owned())
                    })
                    .unwrap_or_default(),
                _ => Texts::default(),
            };
            let asked_when = q
                .and_then(|(_, q)| q.relevant.as_ref())
                .map(|r| Texts::from_fn(|l| condition_words(r, l)))
                .unwrap_or_default();
            let missing = if c.question.is_some() {
                "empty: not asked when the question is in not_asked, else asked and not answered"
            } else if c.name == "not_asked" {
                "empty: every question was asked (or the form version is unknown)"
            } else {
                "empty: not recorded (e.g. not reviewed yet, no duration reported)"
            };
            Entry {
                column: c.name.clone(),
                ty: c.ty.as_str(),
                question: c.question.clone(),
                section,
                section_label,
                label,
                short_label,
                range: q.map(|(_, q)| range_words(q)).unwrap_or_default(),
                options,
                asked_when,
                versions: c.versions.clone(),
                note: c.note.clone(),
                missing: missing.to_owned(),
            }
        })
        .collect()
}

/// `codebook.csv` columns.
pub fn csv_header() -> Vec<String> {
    let mut h: Vec<String> = ["column", "type", "question", "section"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    for field in [
        "section_label",
        "label",
        "short_label",
        "options",
        "asked_when",
    ] {
        for l in LANGUAGES {
            h.push(format!("{field}_{l}"));
        }
    }
    h.extend(["range", "versions", "note", "missing"].map(str::to_owned));
    h
}

fn csv_row(e: &Entry) -> Vec<String> {
    let mut r = vec![
        e.column.clone(),
        e.ty.to_owned(),
        e.question.clone().unwrap_or_default(),
        e.section.clone().unwrap_or_default(),
    ];
    let options: Vec<String> = (0..4)
        .map(|k| {
            e.options
                .iter()
                .map(|o| format!("{}={}", o.value, o.label.all()[k]))
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    for t in [&e.section_label, &e.label, &e.short_label] {
        r.extend(t.all().iter().map(|s| (*s).to_owned()));
    }
    r.extend(options);
    r.extend(e.asked_when.all().iter().map(|s| (*s).to_owned()));
    r.extend([
        e.range.clone(),
        e.versions.join(" "),
        e.note.clone(),
        e.missing.clone(),
    ]);
    r
}

/// Write `codebook.json` and `codebook.csv` into `dir`; returns their names.
pub fn write(plan: &Plan, forms: &[&Form], dir: &Path) -> Result<Vec<String>, ExportError> {
    let entries = entries(plan, forms);
    let json_path = dir.join("codebook.json");
    let doc = serde_json::json!({
        "languages": LANGUAGES,
        "conventions": crate::CONVENTIONS,
        "columns": entries,
    });
    let text = serde_json::to_vec_pretty(&doc).map_err(|e| ExportError::Write(e.to_string()))?;
    std::fs::write(&json_path, text).map_err(|e| ExportError::io(&json_path, e))?;
    let csv_path = dir.join("codebook.csv");
    let mut bytes = crate::writers::UTF8_BOM.to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut bytes);
        let err = |e: csv::Error| ExportError::Write(format!("codebook.csv: {e}"));
        w.write_record(csv_header()).map_err(err)?;
        for e in &entries {
            w.write_record(
                csv_row(e)
                    .iter()
                    .map(|v| crate::writers::guard_text(v).into_owned()),
            )
            .map_err(err)?;
        }
        w.flush()
            .map_err(|e| ExportError::Write(format!("codebook.csv: {e}")))?;
    }
    std::fs::write(&csv_path, bytes).map_err(|e| ExportError::io(&csv_path, e))?;
    Ok(vec!["codebook.csv".into(), "codebook.json".into()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_rules_read_in_each_language() {
        let c: Condition = serde_json::from_value(serde_json::json!({
            "all": [{"q": "nps", "op": "le", "value": 6}, {"selected": "services_used", "option": "mobile_money"}]
        }))
        .unwrap();
        assert_eq!(
            condition_words(&c, "en"),
            "Asked when `nps` ≤ 6 and `services_used` includes option `mobile_money`"
        );
        assert_eq!(
            condition_words(&c, "fr"),
            "Posée si `nps` ≤ 6 et `services_used` contient l'option `mobile_money`"
        );
        assert!(condition_words(&c, "ar").starts_with("تُطرح إذا"));
    }

    #[test]
    fn every_mcmb_column_has_four_labels_and_coded_ones_their_options() {
        let form = survey_model::mcmb_form().unwrap();
        let plan = Plan::new(&[&form], &crate::PiiPolicy::Omit, "en");
        let book = entries(&plan, &[&form]);
        assert_eq!(book.len(), plan.columns.len());
        for e in &book {
            for (l, t) in LANGUAGES.iter().zip(e.label.all()) {
                assert!(!t.is_empty(), "{} has no {l} label", e.column);
            }
        }
        let segment = book.iter().find(|e| e.column == "segment").unwrap();
        assert!(!segment.options.is_empty());
        assert!(segment.options.iter().all(|o| !o.label.ar.is_empty()));
        let nps = book.iter().find(|e| e.column == "nps").unwrap();
        assert_eq!(nps.range, "0-10");
        assert!(
            book.iter().any(|e| !e.asked_when.en.is_empty()),
            "the MCMB form has skip logic"
        );
    }
}
