//! Test helper process: opens a device store with `open_encrypted` (which
//! converts a plaintext store in place), prints `done` and exits. The
//! conversion test SIGKILLs it at chosen moments.

use std::io::Write;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(path), Some(key)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: store-encrypt DB KEY_HEX");
    };
    let key = device_store::StoreKey::from_bytes(&hex::decode(key)?)?;
    let store = device_store::DeviceStore::open_encrypted(std::path::Path::new(&path), &key)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "done {}", store.count()?)?;
    Ok(())
}
