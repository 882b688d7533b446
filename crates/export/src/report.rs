//! The analysis summary as one self-contained HTML page: inline CSS and SVG
//! charts, no JavaScript, no external resources. Every text from the data is
//! HTML-escaped.

use std::fmt::Write;

use crate::analysis::{NpsStat, OptionCounts, Summary};

/// Escape text for HTML (and XML: the OData metadata) element content and
/// attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

struct Words {
    title: &'static str,
    interviews: &'static str,
    excluded: &'static str,
    flagged: &'static str,
    nps_by: &'static str,
    satisfaction: &'static str,
    complaints: &'static str,
    causes: &'static str,
    themes: &'static str,
    phrases: &'static str,
    none: &'static str,
    dataset: &'static str,
    ci_note: &'static str,
    /// Root causes next to the actions addressing them, year over year.
    cause_actions: &'static str,
    share: &'static str,
    previous: &'static str,
    change: &'static str,
    actions: &'static str,
    no_action: &'static str,
    /// planned, in_progress, done, dropped.
    statuses: [&'static str; 4],
    /// Theme, respondents, share, among detractors, among promoters, most in.
    theme_cols: [&'static str; 6],
    /// `{v}` verbatims, `{c}` coded, `{m}` model examples, `{k}` minimum.
    theme_base: &'static str,
    quotes: &'static str,
    /// `{n}` counted, `{c}` campaign, `{d}` drafts, `{x}` without consent,
    /// `{r}` rejected.
    base: &'static str,
    /// Appended when rejected interviews are counted.
    with_rejected: &'static str,
    all_campaigns: &'static str,
    filtered: &'static str,
    /// `{k}`: the minimum.
    low_note: &'static str,
    drivers: &'static str,
    drivers_note: &'static str,
    /// with, without, gap.
    driver_cols: [&'static str; 3],
}

fn words(lang: &str) -> Words {
    match lang {
        "fr" => Words {
            title: "Synthèse de la campagne",
            interviews: "entretiens analysés",
            excluded: "sans consentement (exclus)",
            flagged: "avec des réponses écartées (invalides ou hors parcours)",
            nps_by: "NPS par",
            satisfaction: "Satisfaction par point de contact (moyenne)",
            complaints: "Catégories de réclamation",
            causes: "Causes profondes",
            themes: "Thèmes des verbatims",
            phrases: "Expressions",
            none: "Aucune donnée",
            dataset: "Version du jeu de données",
            ci_note: "Barres : intervalle de confiance à 95 %.",
            cause_actions: "Causes profondes et actions",
            share: "Part",
            previous: "campagne précédente",
            change: "Évolution",
            actions: "Actions",
            no_action: "Aucune action",
            statuses: ["prévue", "en cours", "réalisée", "abandonnée"],
            theme_cols: [
                "Thème",
                "Répondants",
                "Part",
                "Chez les détracteurs",
                "Chez les promoteurs",
                "Surtout",
            ],
            theme_base: "{v} répondants avec un verbatim ; {c} codés par les relecteurs, les thèmes des autres suggérés par un modèle appris sur {m} verbatims codés. Un thème ou un groupe n'apparaît qu'à partir de {k} répondants.",
            quotes: "Ce que disent les clients",
            base: "Base : {n} entretiens soumis avec le consentement du client, hors rejetés à la vérification — campagne {c}. Écartés : {d} brouillons, {x} sans consentement, {r} rejetés.",
            with_rejected: " Les entretiens rejetés sont comptés.",
            all_campaigns: "toutes",
            filtered: "Filtre",
            low_note: "En gris, marqué *: moins de {k} répondants, à lire avec prudence.",
            drivers: "Ce qui fait bouger le NPS",
            drivers_note: "NPS des clients qui citent chaque cause profonde, ou notent un point de contact 1–2, moins celui des autres, avec son intervalle à 95 % ; les plus pénalisants d'abord.",
            driver_cols: ["avec", "sans", "écart"],
        },
        "pt" => Words {
            title: "Resumo da campanha",
            interviews: "entrevistas analisadas",
            excluded: "sem consentimento (excluídas)",
            flagged: "com respostas descartadas (inválidas ou fora do percurso)",
            nps_by: "NPS por",
            satisfaction: "Satisfação por ponto de contacto (média)",
            complaints: "Categorias de reclamação",
            causes: "Causas de raiz",
            themes: "Temas dos verbatims",
            phrases: "Expressões",
            none: "Sem dados",
            dataset: "Versão do conjunto de dados",
            ci_note: "Barras: intervalo de confiança de 95 %.",
            cause_actions: "Causas de raiz e ações",
            share: "Parte",
            previous: "campanha anterior",
            change: "Evolução",
            actions: "Ações",
            no_action: "Nenhuma ação",
            statuses: ["prevista", "em curso", "concluída", "abandonada"],
            theme_cols: [
                "Tema",
                "Inquiridos",
                "Parte",
                "Entre detratores",
                "Entre promotores",
                "Sobretudo",
            ],
            theme_base: "{v} inquiridos com um verbatim; {c} codificados pelos revisores, os temas dos outros sugeridos por um modelo treinado em {m} verbatims codificados. Um tema ou grupo só aparece a partir de {k} inquiridos.",
            quotes: "O que os clientes dizem",
            base: "Base: {n} entrevistas submetidas com o consentimento do cliente, excluindo as rejeitadas na revisão — campanha {c}. Excluídas: {d} rascunhos, {x} sem consentimento, {r} rejeitadas.",
            with_rejected: " As entrevistas rejeitadas são contadas.",
            all_campaigns: "todas",
            filtered: "Filtro",
            low_note: "A cinzento, com *: menos de {k} inquiridos, ler com cautela.",
            drivers: "O que move o NPS",
            drivers_note: "NPS dos clientes que citam cada causa de raiz, ou dão 1–2 a um ponto de contacto, menos o dos outros, com o intervalo de 95 %; os mais penalizadores primeiro.",
            driver_cols: ["com", "sem", "diferença"],
        },
        "ar" => Words {
            title: "ملخص الحملة",
            interviews: "مقابلات محللة",
            excluded: "بدون موافقة (مستبعدة)",
            flagged: "بإجابات مستبعدة (غير صالحة أو خارج المسار)",
            nps_by: "صافي نقاط الترويج حسب",
            satisfaction: "الرضا حسب نقطة الاتصال (المتوسط)",
            complaints: "فئات الشكاوى",
            causes: "الأسباب الجذرية",
            themes: "مواضيع أقوال العملاء",
            phrases: "عبارات",
            none: "لا توجد بيانات",
            dataset: "إصدار مجموعة البيانات",
            ci_note: "الأشرطة: فاصل الثقة 95٪.",
            cause_actions: "الأسباب الجذرية والإجراءات",
            share: "النسبة",
            previous: "الحملة السابقة",
            change: "التغير",
            actions: "الإجراءات",
            no_action: "لا إجراء",
            statuses: ["مخطط", "قيد التنفيذ", "منجز", "متروك"],
            theme_cols: [
                "الموضوع",
                "المستجيبون",
                "النسبة",
                "بين المنتقدين",
                "بين المروجين",
                "خاصة في",
            ],
            theme_base: "{v} مستجيبًا لديهم قول؛ {c} مرمّزة من المراجعين، ومواضيع الباقي مقترحة من نموذج تعلّم من {m} قولًا مرمّزًا. لا يظهر موضوع أو مجموعة إلا ابتداءً من {k} مستجيبين.",
            quotes: "ما يقوله العملاء",
            base: "الأساس: {n} مقابلة مُرسلة بموافقة العميل، باستثناء المرفوضة في المراجعة — الحملة {c}. المستبعد: {d} مسودة، {x} بدون موافقة، {r} مرفوضة.",
            with_rejected: " المقابلات المرفوضة محسوبة.",
            all_campaigns: "الكل",
            filtered: "التصفية",
            low_note: "باللون الرمادي مع *: أقل من {k} مستجيبين، تُقرأ بحذر.",
            drivers: "ما الذي يحرك صافي نقاط الترويج",
            drivers_note: "صافي نقاط الترويج للعملاء الذين يذكرون كل سبب جذري، أو يقيّمون نقطة اتصال بـ 1–2، ناقص صافي الآخرين، مع فاصل الثقة 95٪؛ الأكثر ضررًا أولًا.",
            driver_cols: ["مع", "بدون", "الفرق"],
        },
        _ => Words {
            title: "Campaign summary",
            interviews: "interviews analysed",
            excluded: "without consent (left out)",
            flagged: "with answers set aside (invalid or skipped)",
            nps_by: "NPS by",
            satisfaction: "Satisfaction by touchpoint (average)",
            complaints: "Complaint categories",
            causes: "Root causes",
            themes: "Themes in verbatims",
            phrases: "Phrases",
            none: "No data",
            dataset: "Dataset version",
            ci_note: "Whiskers: 95% confidence interval.",
            cause_actions: "Root causes and actions",
            share: "Share",
            previous: "previous campaign",
            change: "Change",
            actions: "Actions",
            no_action: "No action",
            statuses: ["planned", "in progress", "done", "dropped"],
            theme_cols: [
                "Theme",
                "Respondents",
                "Share",
                "Among detractors",
                "Among promoters",
                "Most in",
            ],
            theme_base: "{v} respondents with a verbatim; {c} coded by reviewers, the others' themes suggested by a model trained on {m} coded verbatims. A theme or a group is shown only when at least {k} respondents share it.",
            quotes: "What customers say",
            base: "Base: {n} submitted interviews with the customer's consent, not rejected in review — campaign {c}. Left out: {d} drafts, {x} without consent, {r} rejected.",
            with_rejected: " Rejected interviews are counted.",
            all_campaigns: "all",
            filtered: "Filter",
            low_note: "Greyed, marked *: fewer than {k} respondents, read with care.",
            drivers: "What moves NPS",
            drivers_note: "NPS of the customers citing each root cause, or rating a touchpoint 1–2, minus the others' NPS, with its 95% interval; the heaviest first.",
            driver_cols: ["with", "without", "gap"],
        },
    }
}

const ROW_H: f64 = 26.0;
const LABEL_W: f64 = 300.0;
const CHART_W: f64 = 420.0;
const TAIL_W: f64 = 230.0;
/// Longer labels are cut (the full text stays in the bar's tooltip).
const LABEL_CHARS: usize = 44;

fn short(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        label.to_owned()
    } else {
        let cut: String = label.chars().take(LABEL_CHARS - 1).collect();
        format!("{}…", cut.trim_end())
    }
}

/// NPS bars from −100 to 100 with 95% CI whiskers.
fn nps_chart(groups: &[NpsStat]) -> String {
    let h = ROW_H * groups.len() as f64 + 24.0;
    let w = LABEL_W + CHART_W + TAIL_W;
    let x = |v: f64| LABEL_W + (v + 100.0) / 200.0 * CHART_W;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" direction=\"ltr\">"
    );
    let _ = write!(
        s,
        "<line x1=\"{0}\" y1=\"0\" x2=\"{0}\" y2=\"{1}\" stroke=\"#888\"/>",
        x(0.0),
        h - 20.0
    );
    for (tick, text) in [(-100.0, "-100"), (0.0, "0"), (100.0, "100")] {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">{text}</text>",
            x(tick),
            h - 6.0
        );
    }
    for (i, g) in groups.iter().enumerate() {
        let y = i as f64 * ROW_H;
        let (x0, x1) = if g.nps >= 0.0 {
            (x(0.0), x(g.nps))
        } else {
            (x(g.nps), x(0.0))
        };
        let color = if g.low_n {
            "#bdbdbd"
        } else if g.nps >= 0.0 {
            "#2e7d32"
        } else {
            "#c62828"
        };
        let star = if g.low_n { " *" } else { "" };
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"end\">{}</text>\
             <rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{}</title></rect>\
             <line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#000\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{:.1} [{:.1}, {:.1}] n={}{star}</text>",
            LABEL_W - 8.0,
            y + 17.0,
            esc(&short(&g.label)),
            y + 5.0,
            (x1 - x0).max(0.5),
            ROW_H - 10.0,
            esc(&format!("{}: NPS {:.1}", g.label, g.nps)),
            x(g.ci_low),
            x(g.ci_high),
            y + ROW_H / 2.0,
            y + ROW_H / 2.0,
            LABEL_W + CHART_W + 6.0,
            y + 17.0,
            g.nps,
            g.ci_low,
            g.ci_high,
            g.n
        );
    }
    s.push_str("</svg>");
    s
}

/// One bar: label, value, the text after it, its 95% interval, and whether
/// it counts too few respondents (greyed).
struct Bar {
    label: String,
    value: f64,
    text: String,
    ci: Option<(f64, f64)>,
    low: bool,
}

/// Horizontal bars scaled to `max`, with interval whiskers where given.
fn bars(rows: &[Bar], max: f64, color: &str) -> String {
    let h = ROW_H * rows.len() as f64 + 4.0;
    let w = LABEL_W + CHART_W + TAIL_W;
    let x = |v: f64| {
        LABEL_W
            + if max > 0.0 {
                (v / max).clamp(0.0, 1.0) * CHART_W
            } else {
                0.0
            }
    };
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" direction=\"ltr\">"
    );
    for (i, b) in rows.iter().enumerate() {
        let y = i as f64 * ROW_H;
        let fill = if b.low { "#bdbdbd" } else { color };
        let star = if b.low { " *" } else { "" };
        let end = b.ci.map_or(x(b.value), |(_, hi)| x(hi));
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"end\">{}</text>\
             <rect x=\"{LABEL_W}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\"><title>{}</title></rect>",
            LABEL_W - 8.0,
            y + 17.0,
            esc(&short(&b.label)),
            y + 5.0,
            (x(b.value) - LABEL_W).max(0.5),
            ROW_H - 10.0,
            esc(&b.label),
        );
        if let Some((lo, hi)) = b.ci {
            let _ = write!(
                s,
                "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#000\"/>",
                x(lo),
                x(hi),
                y + ROW_H / 2.0,
                y + ROW_H / 2.0
            );
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{}{star}</text>",
            end + 6.0,
            y + 17.0,
            esc(&b.text)
        );
    }
    s.push_str("</svg>");
    s
}

/// Horizontal bars of `(label, value, text)` scaled to `max`.
fn bar_chart(rows: &[(String, f64, String)], max: f64, color: &str) -> String {
    let h = ROW_H * rows.len() as f64 + 4.0;
    let w = LABEL_W + CHART_W + TAIL_W;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" direction=\"ltr\">"
    );
    for (i, (label, v, text)) in rows.iter().enumerate() {
        let y = i as f64 * ROW_H;
        let bw = if max > 0.0 {
            (v / max).clamp(0.0, 1.0) * CHART_W
        } else {
            0.0
        };
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"end\">{}</text>\
             <rect x=\"{LABEL_W}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"><title>{}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{}</text>",
            LABEL_W - 8.0,
            y + 17.0,
            esc(&short(label)),
            y + 5.0,
            bw.max(0.5),
            ROW_H - 10.0,
            esc(label),
            LABEL_W + bw + 6.0,
            y + 17.0,
            esc(text)
        );
    }
    s.push_str("</svg>");
    s
}

fn option_section(out: &mut String, title: &str, oc: Option<&OptionCounts>, none: &str) {
    let _ = write!(out, "<section><h2>{}</h2>", esc(title));
    match oc {
        Some(oc) if !oc.options.is_empty() => {
            let rows: Vec<(String, f64, String)> = oc
                .options
                .iter()
                .map(|o| {
                    (
                        o.label.clone(),
                        o.share,
                        format!("{} ({:.0}%)", o.count, o.share * 100.0),
                    )
                })
                .collect();
            out.push_str(&bar_chart(&rows, 1.0, "#ef6c00"));
            let _ = write!(out, "<p class=\"note\">n = {}</p>", oc.respondents);
        }
        _ => {
            let _ = write!(out, "<p>{}</p>", esc(none));
        }
    }
    out.push_str("</section>");
}

fn fmt_nps(n: Option<&crate::analysis::NpsStat>) -> String {
    n.map_or_else(|| "–".to_owned(), |n| format!("{:+.0} (n={})", n.nps, n.n))
}

/// Each root cause of the latest campaign with its share and NPS, the same
/// for the campaign before it and the change in share, next to the actions
/// that address it (this campaign's, and the previous one's as what was done).
fn cause_actions(out: &mut String, s: &Summary, w: &Words) {
    let _ = write!(out, "<section><h2>{}</h2>", esc(w.cause_actions));
    let Some(cur) = s.by_campaign.last() else {
        let _ = write!(out, "<p>{}</p></section>", esc(w.none));
        return;
    };
    let prev = s
        .by_campaign
        .len()
        .checked_sub(2)
        .map(|i| &s.by_campaign[i]);
    let status = |st: &str| -> String {
        survey_model::actions::ACTION_STATUSES
            .iter()
            .position(|a| a.as_str() == st)
            .map_or_else(|| st.to_owned(), |i| w.statuses[i].to_owned())
    };
    let _ = write!(
        out,
        "<table class=\"causes\"><thead><tr><th></th><th>{share} {c}</th><th>NPS {c}</th>",
        share = esc(w.share),
        c = esc(&cur.campaign)
    );
    if let Some(p) = prev {
        let _ = write!(
            out,
            "<th>{share} {p}</th><th>NPS {p}</th><th>{change}</th>",
            share = esc(w.share),
            p = esc(&format!("{} ({})", p.campaign, w.previous)),
            change = esc(w.change)
        );
    }
    let _ = write!(out, "<th>{}</th></tr></thead><tbody>", esc(w.actions));
    let mut values: Vec<(&str, &str)> = cur
        .causes
        .iter()
        .map(|c| (c.value.as_str(), c.label.as_str()))
        .collect();
    for c in prev.map(|p| p.causes.as_slice()).unwrap_or_default() {
        if !values.iter().any(|(v, _)| *v == c.value) {
            values.push((&c.value, &c.label));
        }
    }
    for (value, label) in values {
        let now = cur.causes.iter().find(|c| c.value == value);
        let share = |c: Option<&crate::analysis::CauseStat>| {
            c.map_or_else(
                || "0%".to_owned(),
                |c| format!("{:.0}% (n={})", c.share * 100.0, c.count),
            )
        };
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td>",
            esc(label),
            share(now),
            fmt_nps(now.and_then(|c| c.nps.as_ref()))
        );
        if let Some(p) = prev {
            let before = p.causes.iter().find(|c| c.value == value);
            let delta = 100.0 * (now.map_or(0.0, |c| c.share) - before.map_or(0.0, |c| c.share));
            let _ = write!(
                out,
                "<td>{}</td><td>{}</td><td>{:+.0} pts</td>",
                share(before),
                fmt_nps(before.and_then(|c| c.nps.as_ref())),
                delta
            );
        }
        let addressing: Vec<&central_store::ActionItem> = s
            .actions
            .iter()
            .filter(|a| {
                a.root_causes.iter().any(|c| c == value)
                    && (a.campaign == cur.campaign
                        || prev.is_some_and(|p| a.campaign == p.campaign))
            })
            .collect();
        out.push_str("<td>");
        if addressing.is_empty() {
            let _ = write!(out, "{}", esc(w.no_action));
        } else {
            out.push_str("<ul>");
            for a in addressing {
                let _ = write!(
                    out,
                    "<li><strong>{}</strong> — {} · {} ({}{}{})</li>",
                    esc(&a.title),
                    esc(&a.country),
                    esc(&status(&a.status)),
                    esc(&a.owner),
                    a.due_date
                        .as_deref()
                        .map_or(String::new(), |d| format!(", {}", esc(d))),
                    if a.campaign == cur.campaign {
                        String::new()
                    } else {
                        format!(", {}", esc(&a.campaign))
                    }
                );
            }
            out.push_str("</ul>");
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table></section>");
}

/// The drivers: each root cause's and touchpoint's NPS gap with its
/// interval, the heaviest first, then the NPS with and without.
fn drivers_section(out: &mut String, s: &Summary, w: &Words) {
    let _ = write!(out, "<section id=\"drivers\"><h2>{}</h2>", esc(w.drivers));
    if s.drivers.is_empty() {
        let _ = write!(out, "<p>{}</p></section>", esc(w.none));
        return;
    }
    let h = ROW_H * s.drivers.len() as f64 + 24.0;
    let wd = LABEL_W + CHART_W + TAIL_W;
    let x = |v: f64| LABEL_W + (v.clamp(-100.0, 100.0) + 100.0) / 200.0 * CHART_W;
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{wd}\" height=\"{h}\" viewBox=\"0 0 {wd} {h}\" role=\"img\" direction=\"ltr\">\
         <line x1=\"{0:.1}\" y1=\"0\" x2=\"{0:.1}\" y2=\"{1:.1}\" stroke=\"#888\"/>",
        x(0.0),
        h - 20.0
    );
    for (tick, text) in [(-100.0, "-100"), (0.0, "0"), (100.0, "+100")] {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">{text}</text>",
            x(tick),
            h - 6.0
        );
    }
    for (i, d) in s.drivers.iter().enumerate() {
        let y = i as f64 * ROW_H;
        let (x0, x1) = if d.gap >= 0.0 {
            (x(0.0), x(d.gap))
        } else {
            (x(d.gap), x(0.0))
        };
        let color = if d.low_n {
            "#bdbdbd"
        } else if d.gap >= 0.0 {
            "#2e7d32"
        } else {
            "#c62828"
        };
        let star = if d.low_n { " *" } else { "" };
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"13\" text-anchor=\"end\">{}</text>\
             <rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"/>\
             <line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#000\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\">{:+.1} [{:+.1}, {:+.1}]{star}</text>",
            LABEL_W - 8.0,
            y + 17.0,
            esc(&short(&d.label)),
            y + 5.0,
            (x1 - x0).max(0.5),
            ROW_H - 10.0,
            x(d.gap_low),
            x(d.gap_high),
            y + ROW_H / 2.0,
            y + ROW_H / 2.0,
            LABEL_W + CHART_W + 6.0,
            y + 17.0,
            d.gap,
            d.gap_low,
            d.gap_high
        );
    }
    out.push_str("</svg>");
    let _ = write!(
        out,
        "<table><thead><tr><th></th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        esc(w.driver_cols[0]),
        esc(w.driver_cols[1]),
        esc(w.driver_cols[2])
    );
    for d in &s.drivers {
        let _ = write!(
            out,
            "<tr data-driver=\"{}:{}\"><td>{}</td><td dir=\"ltr\">NPS {:.1} (n={})</td><td dir=\"ltr\">NPS {:.1} (n={})</td><td dir=\"ltr\">{:+.1} [{:+.1}, {:+.1}]</td></tr>",
            esc(&d.kind),
            esc(&d.value),
            esc(&d.label),
            d.with.nps,
            d.with.n,
            d.without.nps,
            d.without.n,
            d.gap,
            d.gap_low,
            d.gap_high
        );
    }
    let _ = write!(
        out,
        "</tbody></table><p class=\"note\">{}</p></section>",
        esc(w.drivers_note)
    );
}

/// The base sentence: what was counted and left out, campaign and filter.
fn base_line(s: &Summary, w: &Words) -> String {
    let b = &s.base;
    let mut line = w
        .base
        .replace("{n}", &s.interviews.to_string())
        .replace(
            "{c}",
            b.filter.campaign.as_deref().unwrap_or(w.all_campaigns),
        )
        .replace("{d}", &b.drafts.to_string())
        .replace("{x}", &b.without_consent.to_string())
        .replace("{r}", &b.rejected.to_string());
    if b.filter.include_rejected {
        line.push_str(w.with_rejected);
    }
    let f = &b.filter;
    let mut parts = Vec::new();
    if !f.places.is_empty() {
        parts.push(format!("place={}", f.places.join(",")));
    }
    if !f.segments.is_empty() {
        parts.push(format!("segment={}", f.segments.join(",")));
    }
    if f.from.is_some() || f.to.is_some() {
        parts.push(format!(
            "{}..{}",
            f.from.as_deref().unwrap_or(""),
            f.to.as_deref().unwrap_or("")
        ));
    }
    if !f.review_states.is_empty() {
        parts.push(format!("review_state={}", f.review_states.join(",")));
    }
    if !parts.is_empty() {
        line.push_str(&format!(" {}: {}.", w.filtered, parts.join("; ")));
    }
    line
}

fn pct(x: f64) -> String {
    format!("{:.0}\u{a0}%", 100.0 * x)
}

/// The codebook themes: a table (respondents, share overall, among
/// detractors and promoters, where most), then up to three quotes per
/// theme, then each language's frequent phrases on one line.
fn theme_section(out: &mut String, s: &Summary, w: &Words) {
    let t = &s.theme_section;
    let _ = write!(out, "<section id=\"themes\"><h2>{}</h2>", esc(w.themes));
    let base = w
        .theme_base
        .replace("{v}", &t.verbatims.to_string())
        .replace("{c}", &t.coded.to_string())
        .replace("{m}", &t.model_examples.to_string())
        .replace("{k}", &t.min_respondents.to_string());
    let _ = write!(out, "<p class=\"note\">{}</p>", esc(&base));
    if t.themes.is_empty() {
        let _ = write!(out, "<p>{}</p>", esc(w.none));
    } else {
        out.push_str("<table class=\"themes\"><thead><tr>");
        for c in w.theme_cols {
            let _ = write!(out, "<th>{}</th>", esc(c));
        }
        out.push_str("</tr></thead><tbody>");
        for th in &t.themes {
            let most: Vec<String> = th
                .by_country
                .iter()
                .take(3)
                .map(|g| format!("{} {}", esc(&g.label), pct(g.share)))
                .chain(
                    th.by_segment
                        .iter()
                        .take(1)
                        .map(|g| format!("{} {}", esc(&g.label), pct(g.share))),
                )
                .collect();
            let _ = write!(
                out,
                "<tr data-theme=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&th.code),
                esc(&th.label),
                th.respondents,
                pct(th.share),
                pct(th.detractor_share),
                pct(th.promoter_share),
                most.join(", ")
            );
        }
        out.push_str("</tbody></table>");
        let _ = write!(out, "<h3>{}</h3>", esc(w.quotes));
        for th in t.themes.iter().filter(|th| !th.quotes.is_empty()) {
            let _ = write!(out, "<h4>{}</h4>", esc(&th.label));
            for q in &th.quotes {
                let qdir = if q.lang == "ar" { "rtl" } else { "ltr" };
                let _ = write!(
                    out,
                    "<blockquote lang=\"{}\" dir=\"{qdir}\">«\u{a0}{}\u{a0}» <span class=\"note\">({})</span></blockquote>",
                    esc(&q.lang),
                    esc(&q.text),
                    esc(&q.country)
                );
            }
        }
    }
    let phrases: Vec<_> = s.themes.iter().filter(|t| !t.phrases.is_empty()).collect();
    if !phrases.is_empty() {
        let _ = write!(out, "<h3>{}</h3>", esc(w.phrases));
        for l in phrases {
            let tdir = if l.language == "ar" { "rtl" } else { "ltr" };
            let list: Vec<String> = l
                .phrases
                .iter()
                .take(8)
                .map(|p| format!("{} ({})", esc(&p.term), p.count))
                .collect();
            let _ = write!(
                out,
                "<p lang=\"{0}\" dir=\"{tdir}\"><b>{0}</b> · {1}</p>",
                esc(&l.language),
                list.join(" · ")
            );
        }
    }
    out.push_str("</section>");
}

/// Render the summary as a self-contained HTML page.
pub fn render_html(s: &Summary) -> String {
    let w = words(&s.language);
    let dir = if s.language == "ar" { "rtl" } else { "ltr" };
    let mut out = String::with_capacity(32 * 1024);
    let scope = if s.countries.is_empty() {
        String::new()
    } else {
        format!(" — {}", s.countries.join(", "))
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}{}</title><style>\
         body{{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Noto Naskh Arabic',sans-serif;margin:2rem;color:#222;max-width:1000px}}\
         h1{{margin-bottom:.2rem}} section{{margin:1.5rem 0}} .kpi{{display:flex;gap:2rem;flex-wrap:wrap}}\
         .kpi div{{background:#f5f5f5;padding:.8rem 1.2rem;border-radius:6px}} .kpi b{{font-size:1.6rem;display:block}}\
         .note{{color:#666;font-size:.85rem}} table{{border-collapse:collapse}} td,th{{padding:.2rem .6rem;border-bottom:1px solid #ddd;text-align:start}}\
         svg{{max-width:100%;height:auto}} code{{font-size:.8rem}}\
         blockquote{{margin:.3rem 1rem;font-style:italic}}\
         @page{{size:A4;margin:15mm}}\
         @media print{{body{{margin:0;max-width:none;font-size:10pt}} section{{break-inside:avoid;page-break-inside:avoid}}\
         h2{{break-after:avoid;page-break-after:avoid}} table,svg{{break-inside:avoid}} .kpi div{{background:none;border:1px solid #ccc}}}}\
         </style></head><body>",
        esc(&s.language),
        esc(w.title),
        esc(&scope)
    );
    let _ = write!(out, "<h1>{}{}</h1>", esc(w.title), esc(&scope));
    out.push_str("<div class=\"kpi\">");
    let _ = write!(
        out,
        "<div><b>{}</b>{}</div><div><b>{}</b>{}</div>",
        s.interviews,
        esc(w.interviews),
        s.excluded_without_consent,
        esc(w.excluded)
    );
    if s.with_quality_flags > 0 {
        let _ = write!(
            out,
            "<div><b>{}</b>{}</div>",
            s.with_quality_flags,
            esc(w.flagged)
        );
    }
    if let Some(n) = &s.nps_overall {
        let _ = write!(
            out,
            "<div><b dir=\"ltr\">NPS {:.1}</b><span dir=\"ltr\">[{:.1}, {:.1}] n={}</span></div>",
            n.nps, n.ci_low, n.ci_high, n.n
        );
    }
    out.push_str("</div>");
    let _ = write!(
        out,
        "<p class=\"note\" id=\"base\">{}</p><p class=\"note\">{}</p>",
        esc(&base_line(s, &w)),
        esc(&w.low_note.replace("{k}", &s.base.min_n.to_string()))
    );
    for b in &s.nps_by {
        let _ = write!(out, "<section><h2>{} {}</h2>", esc(w.nps_by), esc(&b.label));
        if b.groups.is_empty() {
            let _ = write!(out, "<p>{}</p>", esc(w.none));
        } else {
            out.push_str(&nps_chart(&b.groups));
            let _ = write!(out, "<p class=\"note\">{}</p>", esc(w.ci_note));
        }
        out.push_str("</section>");
    }
    let _ = write!(out, "<section><h2>{}</h2>", esc(w.satisfaction));
    if s.satisfaction.is_empty() {
        let _ = write!(out, "<p>{}</p>", esc(w.none));
    } else {
        let max = s.satisfaction.iter().map(|t| t.max).max().unwrap_or(5) as f64;
        let mut sat: Vec<&crate::analysis::Touchpoint> = s.satisfaction.iter().collect();
        sat.sort_by(|a, b| b.mean.total_cmp(&a.mean));
        let rows: Vec<Bar> = sat
            .iter()
            .map(|t| Bar {
                label: t.label.clone(),
                value: t.mean,
                text: format!(
                    "{:.2} [{:.2}, {:.2}] / {} n={}",
                    t.mean, t.ci_low, t.ci_high, t.max, t.n
                ),
                ci: Some((t.ci_low, t.ci_high)),
                low: t.low_n,
            })
            .collect();
        out.push_str(&bars(&rows, max, "#1565c0"));
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(w.ci_note));
    }
    out.push_str("</section>");
    option_section(
        &mut out,
        w.complaints,
        s.complaint_categories.as_ref(),
        w.none,
    );
    option_section(&mut out, w.causes, s.root_causes.as_ref(), w.none);
    drivers_section(&mut out, s, &w);
    cause_actions(&mut out, s, &w);
    theme_section(&mut out, s, &w);
    let _ = writeln!(
        out,
        "<p class=\"note\">{}: <code>{}</code></p></body></html>",
        esc(w.dataset),
        esc(&s.dataset_version)
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            esc("<script>\"a\" & 'b'</script>"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }
}
