//! The extrawest-ocpi interop peer (`tests/interop/peer/app.py`, an in-memory OCPI 2.2.1
//! platform written on the library `extrawest-ocpi`) as a child process of a test.
//!
//! The peer runs from the Python of the virtual environment `.ci/run` prepares
//! (`tests/interop/setup-venv.sh`), named by [`PYTHON_ENV`]. Without that variable
//! [`OcpiPeer::start`] prints a `SKIPPED` line and returns `None`, and the test returns.
//!
//! The peer listens on 127.0.0.1 on a port it picks and prints as its first stdout line; the
//! helper then waits until `/control/health` answers. Its log (stderr) goes to a file in the
//! temp directory whose tail is shown when starting fails. The process is killed on drop.
//! Its control API (`/control/...`) is documented in `tests/interop/peer/control.py`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Environment variable with the path of the venv's python (set by `.ci/run`).
pub const PYTHON_ENV: &str = "ROAMBRIDGE_OCPI_PEER_PYTHON";

/// How long the peer may take to print its port and then to answer.
const START_TIMEOUT: Duration = Duration::from_mins(1);

static STARTED: AtomicUsize = AtomicUsize::new(0);

/// Command-line options of the peer (`app.py --help`).
#[derive(Debug, Clone, Default)]
pub struct PeerOptions {
    pub country_code: Option<String>,
    pub party_id: Option<String>,
    /// `cpo`, `emsp` or `cpo,emsp` (the default).
    pub roles: Option<String>,
    /// Tokens A the peer accepts for a registration from the start.
    pub token_a: Vec<String>,
    /// Own CPO locations to generate (`LOC000000`, `LOC000001`, ...).
    pub seed_locations: usize,
    /// Library and access logs at debug level, the library's logger otherwise at INFO.
    pub verbose: bool,
}

/// An HTTP answer: status, headers (names in lower case) and the body as JSON
/// (`Value::String` with the text when it is not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Reply {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A running peer.
#[derive(Debug)]
pub struct OcpiPeer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl OcpiPeer {
    /// Starts a peer, or prints `SKIPPED: <test>: ...` and returns `None` when
    /// [`PYTHON_ENV`] is unset. Panics (with the peer's log) when it does not come up.
    pub async fn start(test: &str, options: &PeerOptions) -> Option<Self> {
        let Some(python) = std::env::var_os(PYTHON_ENV) else {
            println!(
                "SKIPPED: {test}: {PYTHON_ENV} is unset (`.ci/run` sets it after preparing the \
                 extrawest-ocpi venv with tests/interop/setup-venv.sh)"
            );
            return None;
        };
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/peer/app.py");
        let n = STARTED.fetch_add(1, Ordering::SeqCst);
        let log = std::env::temp_dir().join(format!(
            "roambridge-ocpi-peer-{}-{n}.log",
            std::process::id()
        ));
        let log_file = std::fs::File::create(&log).unwrap();

        let mut command = Command::new(&python);
        command.arg(&script).arg("0");
        if let Some(cc) = &options.country_code {
            command.args(["--country-code", cc]);
        }
        if let Some(pid) = &options.party_id {
            command.args(["--party-id", pid]);
        }
        if let Some(roles) = &options.roles {
            command.args(["--roles", roles]);
        }
        for token in &options.token_a {
            command.args(["--token-a", token]);
        }
        if options.seed_locations > 0 {
            command.args(["--seed-locations", &options.seed_locations.to_string()]);
        }
        if options.verbose {
            command.arg("--verbose");
        }
        // The library reads a `.env` in its working directory; give it one without.
        command.current_dir(script.parent().unwrap());
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap_or_else(|e| panic!("{test}: cannot run {}: {e}", python.to_string_lossy()));

        // First stdout line = port; the rest of stdout is drained so the peer never blocks.
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok);
            let _ = tx.send(first);
            for _ in lines {}
        });
        let first = rx.recv_timeout(START_TIMEOUT).ok().flatten();
        let port = match first.as_deref().map(str::trim).map(str::parse::<u16>) {
            Some(Ok(port)) if port > 0 => port,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{test}: the OCPI peer printed no port ({other:?}); its log:\n{}",
                    read_tail(&log)
                );
            }
        };
        let peer = Self { child, port, log };
        peer.wait_ready(test).await;
        Some(peer)
    }

    async fn wait_ready(&self, test: &str) {
        let deadline = Instant::now() + START_TIMEOUT;
        let url = self.url("/control/health");
        loop {
            if let Ok(reply) = http("GET", &url, &[], None).await
                && reply.status == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{test}: the OCPI peer on port {} never answered; its log:\n{}",
                self.port,
                self.log_tail()
            );
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The peer's OCPI versions endpoint.
    pub fn versions_url(&self) -> String {
        self.url("/ocpi/versions")
    }

    /// The end of the peer's log.
    pub fn log_tail(&self) -> String {
        read_tail(&self.log)
    }

    /// GET on the control API; panics unless HTTP 200.
    pub async fn control_get(&self, path: &str) -> Value {
        let reply = http("GET", &self.url(&format!("/control{path}")), &[], None)
            .await
            .unwrap();
        assert_eq!(reply.status, 200, "GET /control{path}: {:?}", reply.body);
        reply.body
    }

    /// Polls the control API's `/received` until `done` holds (20 s at most) and returns the
    /// last answer, so the caller's assertion shows what did arrive.
    pub async fn received_until(&self, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let r = self.control_get("/received").await;
            if done(&r) || start.elapsed() > Duration::from_secs(20) {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// POST on the control API; any status.
    pub async fn control_post(&self, path: &str, body: &Value) -> Reply {
        http(
            "POST",
            &self.url(&format!("/control{path}")),
            &[],
            Some(body),
        )
        .await
        .unwrap()
    }

    /// Issues a new token A at the peer for a partner to register with.
    pub async fn issue_token_a(&self) -> String {
        let reply = self.control_post("/token-a", &serde_json::json!({})).await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.body["token"].as_str().unwrap().to_owned()
    }

    /// An OCPI request to `url` (absolute, or a path on the peer) with
    /// `Authorization: Token <base64(token)>` when a token is given.
    pub async fn ocpi(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            self.url(url)
        };
        let auth = token.map(|t| format!("Token {}", base64(t.as_bytes())));
        let headers: Vec<(&str, &str)> = auth
            .as_deref()
            .map(|a| vec![("Authorization", a)])
            .unwrap_or_default();
        http(method, &url, &headers, body).await.unwrap()
    }
}

impl Drop for OcpiPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

fn read_tail(path: &PathBuf) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let from = lines.len().saturating_sub(60);
    lines[from..].join("\n")
}

/// `POST` on a node's admin API (port `port`, bearer `admin`) with a JSON body; status and body.
pub async fn admin_post(port: u16, path: &str, body: &Value) -> (u16, Value) {
    let reply = http(
        "POST",
        &format!("http://127.0.0.1:{port}{path}"),
        &[("Authorization", "Bearer admin")],
        Some(body),
    )
    .await
    .unwrap();
    (reply.status, reply.body)
}

/// One HTTP request with a JSON body (if any), redirects not followed.
pub async fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> Result<Reply, String> {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .disable_redirects()
        .finish();
    let method = awc::http::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let mut request = client.request(method, url);
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    let sent = match body {
        Some(body) => request.send_json(body).await,
        None => request.send().await,
    };
    let mut response = sent.map_err(|e| format!("{url}: {e}"))?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let bytes = response
        .body()
        .limit(64 * 1024 * 1024)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Ok(Reply {
        status,
        headers,
        body,
    })
}

/// Standard Base64 (RFC 4648 section 4, with padding), as OCPI 2.2.1 encodes tokens.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
