//! `fieldvoice-server themes ...`: evaluate the theme classifier on labelled
//! files, and write the generator's labelled verbatims.

use std::path::PathBuf;

use anyhow::Context;

#[derive(Debug, clap::Subcommand)]
pub enum ThemesCommand {
    /// Train on one labelled file and print per-theme precision/recall,
    /// macro-F1 per language and `macro_f1 X` on the other. Lines are
    /// `{"id","lang","text","themes":[...]}`.
    Evaluate {
        #[arg(long)]
        train: PathBuf,
        #[arg(long)]
        test: PathBuf,
    },
    /// Write the labelled verbatims of a generated campaign as JSON Lines
    /// (the generator's true themes).
    Generate {
        /// Interviews to generate (refusals and drafts have no verbatim).
        #[arg(long, default_value_t = 15_000)]
        interviews: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output file (`-` for standard output).
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
}

fn read(path: &PathBuf) -> anyhow::Result<Vec<themes::Example>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    themes::read_examples(&text).with_context(|| format!("{}", path.display()))
}

pub fn run(command: ThemesCommand) -> anyhow::Result<()> {
    match command {
        ThemesCommand::Evaluate { train, test } => {
            let (train, test) = (read(&train)?, read(&test)?);
            let codebook = themes::Codebook::default();
            let e = themes::evaluate(&train, &test, &codebook, themes::TrainOptions::default());
            super::announce(&e.to_string());
        }
        ThemesCommand::Generate {
            interviews,
            seed,
            out,
        } => {
            let campaign = fieldgen::generate(&fieldgen::Spec::new(seed, interviews));
            let mut text = String::new();
            for e in fieldgen::labelled(&campaign) {
                text.push_str(&serde_json::to_string(&e)?);
                text.push('\n');
            }
            if out.as_os_str() == "-" {
                print!("{text}");
            } else {
                std::fs::write(&out, text).with_context(|| format!("writing {}", out.display()))?;
            }
        }
    }
    Ok(())
}
