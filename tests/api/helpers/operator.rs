//! The operator's command line, run against the test app's database.

use super::*;
use std::time::Duration;

impl TestApp {
    /// Runs the operator's command line against this app's database; asserts it succeeded.
    pub fn operator(&self, args: &[&str]) -> std::process::Output {
        let output = self.operator_command(args).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// The operator's command line against this app's database, not yet run.
    pub fn operator_command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_storno-licensing"));
        command.args(args).env("DATABASE_URL", &self.database_url);
        if postgres_server().is_some() {
            command
                .env("LICENSING_KEY_PEPPER", "07".repeat(32))
                .env("ANSWER_SIGNING_KEYS", TEST_ANSWER_SIGNING_KEY);
        }
        command
    }

    /// Starts `storno-licensing serve` on this app's database with `env` added, and
    /// expects it to refuse to start: returns its exit code and standard error.
    /// (Killed, and the test failed, if it is still running after a minute.)
    pub async fn serve_refusing_to_start(&self, env: &[(&str, &str)]) -> (Option<i32>, String) {
        let mut command = self.operator_command(&["serve"]);
        command
            .envs(env.iter().copied())
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let mut server = command.spawn().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = server.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                server.kill().unwrap();
                panic!("the server started with {env:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut server.stderr.take().unwrap(), &mut stderr).unwrap();
        (status.code(), stderr)
    }

    /// Moves an organization to `plan`, as an operator does (`org set-plan`). New
    /// organizations start on `community`, which does not include self-hosting.
    pub fn set_plan(&self, organization_id: &str, plan: &str) {
        self.operator(&["org", "set-plan", organization_id, plan]);
    }
}
