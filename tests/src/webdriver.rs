//! A tiny W3C WebDriver client over reqwest, enough to drive the Tauri window
//! through tauri-driver + WebKitWebDriver: sessions, CSS lookups, clicks,
//! keys, scripts and screenshots.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use base64::Engine;
use serde_json::{Value, json};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One WebDriver session.
pub struct WebDriver {
    http: reqwest::Client,
    base: String,
    session: String,
}

impl WebDriver {
    /// Start a session that launches the Tauri app at `application`.
    pub async fn launch(base: &str, application: &Path) -> anyhow::Result<WebDriver> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?;
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "wry",
            "tauri:options": {"application": application.to_string_lossy()}
        }}});
        let v: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await?
            .json()
            .await?;
        let session = v["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no session: {v}"))?
            .to_owned();
        Ok(WebDriver {
            http,
            base: base.to_owned(),
            session,
        })
    }

    async fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body.unwrap_or_else(|| json!({}))),
        };
        let resp = req.send().await?;
        let status = resp.status();
        let v: Value = resp.json().await.context("webdriver reply")?;
        if !status.is_success() {
            bail!("{method} {path}: {status}: {}", v["value"]);
        }
        Ok(v["value"].clone())
    }

    /// The first element matching `css`, if any.
    pub async fn try_find(&self, css: &str) -> anyhow::Result<Option<String>> {
        let v = self
            .cmd(
                "POST",
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        Ok(v.as_array()
            .and_then(|a| a.first())
            .and_then(|e| e[ELEMENT].as_str())
            .map(str::to_owned))
    }

    /// Wait up to 20 s for an element matching `css`.
    pub async fn find(&self, css: &str) -> anyhow::Result<String> {
        let t = Instant::now();
        loop {
            if let Some(e) = self.try_find(css).await? {
                return Ok(e);
            }
            if t.elapsed() > Duration::from_secs(20) {
                bail!("no element matches {css}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Scroll the element to the middle of the window (clear of sticky bars)
    /// and click it.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let e = self.find(css).await?;
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({
                "script": "arguments[0].scrollIntoView({block: 'center'}); return true;",
                "args": [{ELEMENT: e}]
            })),
        )
        .await?;
        self.cmd("POST", &format!("/element/{e}/click"), None)
            .await
            .with_context(|| format!("click {css}"))?;
        Ok(())
    }

    pub async fn clear(&self, css: &str) -> anyhow::Result<()> {
        let e = self.find(css).await?;
        self.cmd("POST", &format!("/element/{e}/clear"), None)
            .await?;
        Ok(())
    }

    pub async fn send_keys(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let e = self.find(css).await?;
        self.cmd(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({"text": text})),
        )
        .await
        .with_context(|| format!("type into {css}"))?;
        Ok(())
    }

    /// Run a synchronous script (`return ...;`) with JSON arguments.
    pub async fn exec(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Wait up to `secs` for a script to return true.
    pub async fn wait_js(&self, script: &str, secs: u64, what: &str) -> anyhow::Result<()> {
        let t = Instant::now();
        loop {
            if self.exec(script, json!([])).await? == json!(true) {
                return Ok(());
            }
            if t.elapsed() > Duration::from_secs(secs) {
                bail!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Save a PNG screenshot of the window.
    pub async fn screenshot(&self, path: &Path) -> anyhow::Result<()> {
        let v = self.cmd("GET", "/screenshot", None).await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().ok_or_else(|| anyhow!("no screenshot"))?)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, png)?;
        Ok(())
    }

    /// End the session (closes the app).
    pub async fn quit(self) -> anyhow::Result<()> {
        self.cmd("DELETE", "", None).await?;
        Ok(())
    }
}
