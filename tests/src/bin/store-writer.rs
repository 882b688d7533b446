//! Test helper process: writes answers to a device store as fast as it can and
//! prints `ack <interview> <nps> <city>` after each durable save, until killed.
//! Used by the crash test, which SIGKILLs it mid-write.

use std::io::Write;

use device_store::{DeviceStore, Enrollment};
use serde_json::json;

fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: store-writer DB"))?;
    let mut store = DeviceStore::open(std::path::Path::new(&path))?;
    let form = store.put_form(survey_model::BUILTIN_FORMS[0].1)?;
    store.set_enrollment(&Enrollment {
        server_url: "http://127.0.0.1:1".into(),
        device_id: "dev-crash".into(),
        device_token: "t".into(),
        user_id: "emp-crash".into(),
        user_name: "Crash Test".into(),
        country: "SN".into(),
        campaign: "mcmb-2026".into(),
    })?;
    let out = std::io::stdout();
    let mut out = out.lock();
    for i in 0u64.. {
        let mut iv = store.create_interview(&form)?;
        for step in 0..20u64 {
            let nps = ((i + step) % 11) as i64;
            let city = format!("city-{i}-{step}");
            iv.set_answer_json(&form, "nps", &json!(nps))?;
            iv.set_answer_json(&form, "city", &json!(city))?;
            store.save(&mut iv, Some(&form))?;
            writeln!(out, "ack {} {nps} {city}", iv.id())?;
            out.flush()?;
        }
    }
    Ok(())
}
