//! Real services for tests and benchmarks, started on free ports and removed when
//! dropped: a throwaway PostgreSQL cluster (Debian's `postgresql`) and an
//! S3-compatible server (moto's, from PyPI). `cargo xtask test` starts one of each
//! for the whole run and hands their addresses to every test through
//! [`DATABASE_ENV`] and [`S3_ENV`]; a test run on its own starts its own.
//!
//! Only the standard library: xtask and the registry's tests both build it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A PostgreSQL server URL without a database (`postgres://berth@127.0.0.1:PORT`).
pub const DATABASE_ENV: &str = "BERTH_TEST_DATABASE_URL";
/// An S3 endpoint with a bucket tests may use (`http://127.0.0.1:PORT/BUCKET`).
pub const S3_ENV: &str = "BERTH_TEST_S3";

/// The bucket tests share; each test works under its own prefix.
pub const BUCKET: &str = "berth-test";

pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn wait_for_port(
    port: u16,
    child: &mut Child,
    what: &str,
    timeout: Duration,
) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let start = Instant::now();
    while start.elapsed() < timeout {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{what} exited before it listened ({status})"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!(
        "{what} did not listen on port {port} within {}s",
        timeout.as_secs()
    ))
}

fn run(command: &mut Command) -> Result<String, String> {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{shown} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn is_root() -> bool {
    run(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0")
}

fn unique_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!("berth-{name}-{}-{nanos}", std::process::id()))
}

/// The newest PostgreSQL installed from Debian's packages.
pub fn postgres_bin_dir() -> Result<PathBuf, String> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|_| "PostgreSQL is not installed (apt-get install postgresql)".to_string())?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "PostgreSQL is not installed (apt-get install postgresql)".into())
}

/// A PostgreSQL cluster in a temporary directory, superuser `berth`, trust auth on
/// 127.0.0.1, durability off (a test cluster needs no fsync). PostgreSQL refuses to
/// run as root: as root, the cluster runs as the `postgres` user.
pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl Postgres {
    pub fn start() -> Result<Postgres, String> {
        let bin = postgres_bin_dir()?;
        let dir = unique_dir("postgres");
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let as_postgres = is_root();
        if as_postgres {
            run(Command::new("chown").arg("postgres:postgres").arg(&dir))?;
        }
        let postgres = Postgres {
            dir,
            bin,
            port: free_port()?,
            as_postgres,
        };
        run(postgres
            .command("initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "berth",
                "-E",
                "UTF8",
                "--no-sync",
                "-D",
            ])
            .arg(&postgres.dir))?;
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300",
            postgres.port,
            postgres.dir.display()
        );
        run(postgres
            .command("pg_ctl")
            .arg("-D")
            .arg(&postgres.dir)
            .args(["-o", &options, "-l"])
            .arg(postgres.dir.join("server.log"))
            .args(["-w", "-t", "60", "start"]))?;
        Ok(postgres)
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server, without a database.
    pub fn url(&self) -> String {
        format!("postgres://berth@127.0.0.1:{}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = run(self.command("pg_ctl").arg("-D").arg(&self.dir).args([
            "-m",
            "immediate",
            "-w",
            "stop",
        ]));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Creates a database on the server at `server_url` (as [`Postgres::url`] gives):
/// with an ICU `en-US` collation, so that tests see what a database created with a
/// typical locale does (for one, `B` sorts after `a`).
pub fn create_database(server_url: &str, name: &str) -> Result<String, String> {
    let psql = postgres_bin_dir()?.join("psql");
    let sql = format!(
        "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' \
         LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"
    );
    run(Command::new(psql)
        .arg(format!("{server_url}/postgres"))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", &sql]))?;
    Ok(format!("{server_url}/{name}"))
}

/// moto's S3 server on a free port, with [`BUCKET`] created.
pub struct S3Server {
    child: Child,
    port: u16,
}

impl S3Server {
    pub fn start() -> Result<S3Server, String> {
        let port = free_port()?;
        let log =
            std::fs::File::create(std::env::temp_dir().join(format!("berth-moto-{port}.log")))
                .map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let mut child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("cannot start moto_server (pip install 'moto[server]'): {e}"))?;
        if let Err(e) = wait_for_port(port, &mut child, "moto_server", Duration::from_secs(60)) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        let server = S3Server { child, port };
        create_bucket(&server.endpoint(), BUCKET)?;
        Ok(server)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The endpoint with the shared bucket, as [`S3_ENV`] carries it.
    pub fn bucket_url(&self) -> String {
        format!("{}/{BUCKET}", self.endpoint())
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates a bucket with an unsigned `PUT /bucket` (moto does not check signatures).
pub fn create_bucket(endpoint: &str, bucket: &str) -> Result<(), String> {
    let authority = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("{endpoint}: only http:// endpoints"))?;
    let mut stream = TcpStream::connect(authority).map_err(|e| format!("{endpoint}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "PUT /{bucket} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .map_err(|e| e.to_string())?;
    let status = response.split_whitespace().nth(1).unwrap_or("");
    if status == "200" || response.contains("BucketAlreadyOwnedByYou") {
        Ok(())
    } else {
        Err(format!(
            "creating bucket {bucket} at {endpoint}: {response}"
        ))
    }
}

/// The services a test needs: the ones `cargo xtask test` started (from the
/// environment), or fresh ones held by this value.
pub struct Services {
    pub database_url: String,
    pub s3: String,
    _postgres: Option<Postgres>,
    _s3: Option<S3Server>,
}

impl Services {
    /// Fresh ones, whatever the environment says.
    pub fn start() -> Result<Services, String> {
        let postgres = Postgres::start()?;
        let server = S3Server::start()?;
        Ok(Services {
            database_url: postgres.url(),
            s3: server.bucket_url(),
            _postgres: Some(postgres),
            _s3: Some(server),
        })
    }

    /// The variables that hand these services to tests.
    pub fn env(&self) -> [(&'static str, String); 2] {
        [
            (DATABASE_ENV, self.database_url.clone()),
            (S3_ENV, self.s3.clone()),
        ]
    }

    pub fn from_env_or_start() -> Result<Services, String> {
        let database = std::env::var(DATABASE_ENV).ok().filter(|v| !v.is_empty());
        let s3 = std::env::var(S3_ENV).ok().filter(|v| !v.is_empty());
        let (database_url, postgres) = match database {
            Some(url) => (url, None),
            None => {
                let postgres = Postgres::start()?;
                (postgres.url(), Some(postgres))
            }
        };
        let (s3, server) = match s3 {
            Some(url) => (url, None),
            None => {
                let server = S3Server::start()?;
                (server.bucket_url(), Some(server))
            }
        };
        Ok(Services {
            database_url,
            s3,
            _postgres: postgres,
            _s3: server,
        })
    }
}
