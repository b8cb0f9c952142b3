//! The `roambridge run --config FILE` binary: a bad configuration exits 2 with
//! `file: key: problem`; a good one serves OICP.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::harness::{Double, dead_port, post};
use crate::topology::party;

/// A unique temporary file holding `text`.
fn temp_config(text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "roambridge-{}-{}.toml",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::write(&path, text).unwrap();
    path
}

/// Kills the node when the test ends, whatever happens.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[actix_web::test]
async fn a_bad_configuration_exits_2_naming_file_key_and_problem() {
    // Arrange
    let path = temp_config("[node]\nlisten = \"localhost\"\ndatabase = \":memory:\"\n");

    // Act
    let out = Command::new(env!("CARGO_BIN_EXE_roambridge"))
        .args(["run", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);

    // Assert
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "{}: node.listen: 'localhost' is not an address",
        path.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[actix_web::test]
async fn a_good_configuration_serves_oicp() {
    // Arrange
    let backend = Double::start().await;
    let emp = Double::start().await;
    let port = dead_port();
    let text = format!(
        "[node]\nlisten = \"127.0.0.1:{port}\"\ndatabase = \":memory:\"\n\n{}\n\
         [[peer]]\nrole = \"emp\"\nid = \"DE-GDF\"\nurl = \"{}\"\ntoken = \"to-gdf\"\n",
        party("cpo", "DE*GEF", &backend, "bin-backend"),
        emp.url()
    );
    let path = temp_config(&text);
    let child = Command::new(env!("CARGO_BIN_EXE_roambridge"))
        .args(["run", "--config"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _node = Running(child);
    let client = awc::Client::default();
    let health = format!("http://127.0.0.1:{port}/health");
    let start = Instant::now();
    let mut up = false;
    while start.elapsed() < Duration::from_secs(5) {
        if let Ok(r) = client.get(&health).send().await {
            up = r.status().is_success();
            if up {
                break;
            }
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = std::fs::remove_file(&path);
    assert!(up, "the node did not come up on port {port}");
    let push = json!({"ActionType": "update", "OperatorEvseStatus": {"OperatorID": "DE*GEF",
        "EvseStatusRecord": [{"EvseID": "DE*GEF*E0001*1", "EvseStatus": "Available"}]}});

    // Act
    let a = post(
        &format!("http://127.0.0.1:{port}/api/oicp/evsepush/v21/operators/DE*GEF/status-records"),
        Some("bin-backend"),
        &push,
    )
    .await;
    let got = emp.wait_for("status-records", 1).await;

    // Assert
    assert_eq!((a.status, a.code()), (200, "000"), "{:?}", a.body);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].authorization.as_deref(), Some("Bearer to-gdf"));
}
