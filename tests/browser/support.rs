//! Chromium + chromedriver for one test, and a gateway in sim mode with its demo entity.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use secrecy::ExposeSecret;

/// Headless flags that work in containers and CI (no sandbox, no GPU, no network chatter).
const CHROME_ARGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
];

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// A browser session; chromedriver is killed (by its own pid) on drop.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Browser {
    /// Start chromedriver and a fresh headless Chromium, or `None` (skip) when they are not
    /// installed and the run does not require them.
    pub async fn start(test: &str) -> Option<Browser> {
        let chromium = which("chromium").or_else(|| which("chromium-browser"));
        let driver = which("chromedriver");
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            if std::env::var("CPU_GATEWAY_REQUIRE_SERVICES").as_deref() == Ok("1") {
                panic!("{test}: chromium and chromedriver are required (CPU_GATEWAY_REQUIRE_SERVICES=1); run .ci/browser.sh");
            }
            // Straight to the process's stderr: libtest captures `eprintln!` of passing tests.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: chromium/chromedriver not installed (apt-get install chromium chromium-driver, or run .ci/browser.sh)"
            );
            return None;
        };
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut args: Vec<String> = CHROME_ARGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = serde_json::json!({
            "goog:chromeOptions": {"binary": chromium, "args": args}
        });
        let caps = caps.as_object().cloned().expect("object");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            match fantoccini::ClientBuilder::new(
                hyper_util::client::legacy::connect::HttpConnector::new(),
            )
            .capabilities(caps.clone())
            .connect(&url)
            .await
            {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => {
                    panic!("{test}: chromedriver did not start: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Some(Browser {
            client,
            driver: child,
            _profile: profile,
        })
    }

    /// Save a PNG under `target/screenshots/`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// Wait (bounded) until `f` yields a value; the page may reload meanwhile.
    pub async fn until<T, F, Fut>(&self, what: &str, mut f: F) -> T
    where
        F: FnMut(Client) -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(v) = f(self.client.clone()).await {
                return v;
            }
            if Instant::now() > deadline {
                let src = self.client.source().await.unwrap_or_default();
                panic!(
                    "timed out waiting for {what}; page:\n{}",
                    &src[..src.len().min(4000)]
                );
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// Click the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Replace the value of the input matching `css`.
    pub async fn fill(&self, css: &str, text: &str) {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no input {css}: {e}"));
        el.clear().await.expect("clear");
        el.send_keys(text).await.expect("type");
    }

    /// Text of the element matching `css`, if it exists.
    pub async fn text(&self, css: &str) -> Option<String> {
        let el = self.client.find(Locator::Css(css)).await.ok()?;
        el.text().await.ok()
    }

    /// Wait (bounded) until the element matching `css` exists; its text.
    pub async fn wait_text(&self, css: &str) -> String {
        let css = css.to_owned();
        self.until(&format!("an element {css}"), |c| {
            let css = css.clone();
            async move { c.find(Locator::Css(&css)).await.ok()?.text().await.ok() }
        })
        .await
    }

    /// Wait (bounded) until the page's URL contains `part`.
    pub async fn wait_url(&self, part: &str) {
        let part = part.to_owned();
        self.until(&format!("a URL with {part}"), |c| {
            let part = part.clone();
            async move {
                let url = c.current_url().await.ok()?;
                url.as_str().contains(&part).then_some(())
            }
        })
        .await
    }

    /// Pick `value` in the select matching `css`.
    pub async fn select(&self, css: &str, value: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no select {css}: {e}"))
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("no option {value} in {css}: {e}"));
    }

    /// Open `url` (absolute).
    pub async fn open(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// Run `script` in the page (its `arguments` are `args`); its result as `T`.
    pub async fn eval<T: serde::de::DeserializeOwned>(
        &self,
        script: &str,
        args: Vec<serde_json::Value>,
    ) -> T {
        let v = self
            .client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}"));
        serde_json::from_value(v).unwrap_or_else(|e| panic!("script result: {e}"))
    }

    /// Wait (bounded) until the element matching `css` shows exactly `want`.
    pub async fn wait_text_is(&self, css: &str, want: &str) {
        let (css, want) = (css.to_owned(), want.to_owned());
        self.until(&format!("{css} showing {want}"), |c| {
            let (css, want) = (css.clone(), want.clone());
            async move {
                let text = c.find(Locator::Css(&css)).await.ok()?.text().await.ok()?;
                (text == want).then_some(())
            }
        })
        .await
    }

    /// The current value of the input or select matching `css` (what the user sees).
    pub async fn value(&self, css: &str) -> Option<String> {
        let el = self.client.find(Locator::Css(css)).await.ok()?;
        el.prop("value").await.ok().flatten()
    }

    /// A form came back refused at the input `input` (`#id`): its message next to it
    /// (`#id-error`, which describes it), marked invalid, the value as typed, and no markup of
    /// the value rendered. Returns the message.
    pub async fn assert_refused_at(&self, input: &str, typed: &str) -> String {
        let msg = self.wait_text(&format!("{input}-error")).await;
        assert!(!msg.is_empty(), "{input}: an empty message");
        assert_eq!(
            self.attr(input, "aria-invalid").await.as_deref(),
            Some("true"),
            "{input} is not marked invalid"
        );
        assert_eq!(
            self.attr(input, "aria-describedby").await,
            Some(format!("{}-error", input.trim_start_matches('#'))),
            "{input} is not described by its message"
        );
        assert_eq!(self.value(input).await.as_deref(), Some(typed), "{input}");
        assert!(
            self.client
                .find_all(Locator::Css("main form b"))
                .await
                .expect("find")
                .is_empty(),
            "markup in a value was rendered"
        );
        msg
    }

    /// Attribute of the element matching `css`, if both exist.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let el = self.client.find(Locator::Css(css)).await.ok()?;
        el.attr(name).await.ok().flatten()
    }
}

/// A simulator on a free port; its base URL.
pub async fn simulator(config: cpu_gateway::simulate::SimConfig) -> String {
    let sim = cpu_gateway::simulate::Application::build(config, "127.0.0.1:0")
        .await
        .expect("simulator");
    let base = format!("http://127.0.0.1:{}", sim.port());
    tokio::spawn(sim.run_until_stopped());
    base
}

/// A browser showing the sandbox (`/`) of a fresh simulator, and the simulator's base URL;
/// `None` when the test is skipped. The world's clock is frozen: the page reloads itself when
/// the clock's minute changes, which would race the test's clicks.
pub async fn sandbox(test: &str) -> Option<(Browser, String)> {
    let b = Browser::start(test).await?;
    let config = cpu_gateway::simulate::SimConfig {
        frozen_clock: Some(chrono::Utc::now()),
        ..Default::default()
    };
    let base = simulator(config).await;
    b.open(&format!("{base}/")).await;
    Some((b, base))
}

/// The cookie header and the CSRF token a sandbox page gives a client outside the browser
/// (a script that posts the sandbox's forms).
pub async fn sandbox_form_token(base: &str) -> (String, String) {
    let page = reqwest::get(format!("{base}/"))
        .await
        .expect("sandbox page");
    let set = page.headers().get("set-cookie").cloned();
    let cookie = set
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("the page sets the CSRF cookie");
    let token = cookie.split_once('=').map(|(_, v)| v).unwrap_or_default();
    (cookie.to_owned(), token.to_owned())
}

/// A gateway in sim mode (embedded simulator and terminal emulations, SQLite in a temp dir)
/// with its demo entity and editor token.
pub struct Gateway {
    pub base: String,
    pub token: String,
    pub entity_id: String,
    pub state: std::sync::Arc<cpu_gateway::gateway::state::GatewayState>,
    /// Base URL of the embedded simulator.
    pub simulator: String,
    _dir: tempfile::TempDir,
}

impl Gateway {
    pub async fn start() -> Gateway {
        Self::start_with(|_| {}).await
    }

    /// A gateway whose settings `configure` changed first.
    pub async fn start_with(
        configure: impl FnOnce(&mut cpu_gateway::gateway::config::Settings),
    ) -> Gateway {
        let dir = tempfile::tempdir().expect("data dir");
        let mut settings = cpu_gateway::gateway::config::Settings {
            listen: "127.0.0.1:0".parse().expect("addr"),
            simulator_listen: "127.0.0.1:0".parse().expect("addr"),
            data_dir: dir.path().to_path_buf(),
            demo: true,
            ..Default::default()
        };
        configure(&mut settings);
        let app = cpu_gateway::gateway::Application::build(settings)
            .await
            .expect("gateway");
        let demo = app.demo().expect("demo setup");
        let token = demo.token.expose_secret().to_owned();
        let entity_id = demo.entity_id.clone();
        let base = format!("http://127.0.0.1:{}", app.port());
        let simulator = format!(
            "http://127.0.0.1:{}",
            app.simulator_port().expect("embedded simulator")
        );
        let state = app.state();
        tokio::spawn(app.run_until_stopped());
        Gateway {
            base,
            token,
            entity_id,
            state,
            simulator,
            _dir: dir,
        }
    }

    /// A new token of `role` for the demo entity.
    pub async fn token(&self, role: cpu_gateway::store::Role) -> String {
        self.token_with_id(role).await.1
    }

    /// A new token of `role` for the demo entity, with its id.
    pub async fn token_with_id(&self, role: cpu_gateway::store::Role) -> (String, String) {
        let (info, t) = self
            .state
            .store
            .create_token(&self.entity_id, role, Some("browser test"))
            .await
            .expect("token");
        (info.id, t.expose_secret().to_owned())
    }
}

/// A browser and a gateway, signed in with the demo editor token; `None` when the test is
/// skipped.
pub async fn signed_in(test: &str) -> Option<(Browser, Gateway)> {
    let b = Browser::start(test).await?;
    let gw = Gateway::start().await;
    sign_in(&b, &gw, &gw.token).await;
    Some((b, gw))
}

/// Sign in through the login form.
pub async fn sign_in(b: &Browser, gw: &Gateway, token: &str) {
    b.client
        .goto(&format!("{}/console", gw.base))
        .await
        .expect("open console");
    b.fill("#token", token).await;
    b.click("#sign-in").await;
    b.until("the Data Sources page", |c| async move {
        c.find(Locator::Css("#cards")).await.ok().map(|_| ())
    })
    .await;
}
