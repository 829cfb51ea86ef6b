//! `xtask bench-client`: the clients `cargo xtask bench` times where Python's own cost
//! would be what is measured. Each prints one line of JSON.
//!
//! - `upload HOST:PORT PATH AUTH FILE`: PUTs FILE's bytes to PATH with `sendfile`
//!   (no copy through this process), so the registry is what bounds the rate.
//! - `download HOST:PORT PATH AUTH SIZE`: GETs PATH into one reused buffer.
//!
//! AUTH is an `Authorization` header's value, or `-` for none.
//! - `ecr HOST:PORT REGION KEY SECRET ACTION BODY CONNECTIONS SECONDS`: keeps
//!   CONNECTIONS keep-alive connections busy with SigV4-signed ECR API calls for
//!   SECONDS; BODY may hold `{tag}`, replaced by `t00000`… in turn, and a
//!   `nextToken` in a response is sent with the connection's next call.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use berth_model::sigv4;

pub fn run(args: &[String]) -> Result<(), String> {
    let arg = |i: usize| {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("bench-client: missing argument {i}"))
    };
    let line = match arg(0)? {
        "upload" => upload(arg(1)?, arg(2)?, arg(3)?, arg(4)?),
        "download" => download(
            arg(1)?,
            arg(2)?,
            arg(3)?,
            arg(4)?.parse().map_err(|_| "SIZE is a number")?,
        ),
        "ecr" => ecr(&Ecr {
            address: arg(1)?.to_string(),
            region: arg(2)?.to_string(),
            key: arg(3)?.to_string(),
            secret: arg(4)?.to_string(),
            action: arg(5)?.to_string(),
            body: arg(6)?.to_string(),
            connections: arg(7)?.parse().map_err(|_| "CONNECTIONS is a number")?,
            seconds: arg(8)?.parse().map_err(|_| "SECONDS is a number")?,
        }),
        other => return Err(format!("bench-client: unknown mode '{other}'")),
    }
    .map_err(|e| format!("bench-client: {e}"))?;
    println!("{line}");
    Ok(())
}

/// The `Authorization` header line for AUTH (`-`: none).
fn authorization(auth: &str) -> String {
    if auth == "-" {
        String::new()
    } else {
        format!("Authorization: {auth}\r\n")
    }
}

/// A response's status and body.
struct Response {
    status: u16,
    body: Vec<u8>,
}

/// Reads a response head; the status and the Content-Length.
fn read_head(reader: &mut impl BufRead) -> io::Result<(u16, u64)> {
    let mut status = 0;
    let mut length = 0;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            return Ok((status, length));
        }
        if status == 0 {
            status = trimmed
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| io::Error::other(format!("not a status line: {trimmed}")))?;
        } else if let Some((name, value)) = trimmed.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().map_err(io::Error::other)?;
            }
        }
    }
}

fn read_response(reader: &mut impl BufRead) -> io::Result<Response> {
    let (status, length) = read_head(reader)?;
    let mut body = vec![0; length as usize];
    reader.read_exact(&mut body)?;
    Ok(Response { status, body })
}

fn upload(address: &str, path: &str, auth: &str, file: &str) -> io::Result<String> {
    let file = std::fs::File::open(file)?;
    let size = file.metadata()?.len();
    let mut socket = TcpStream::connect(address)?;
    socket.set_nodelay(true)?;
    let started = Instant::now();
    write!(
        socket,
        "PUT {path} HTTP/1.1\r\nHost: {address}\r\n{}\
         Content-Type: application/octet-stream\r\nContent-Length: {size}\r\n\r\n",
        authorization(auth)
    )?;
    send_file(&socket, &file, size)?;
    let response = read_response(&mut BufReader::new(&socket))?;
    let seconds = started.elapsed().as_secs_f64();
    if response.status != 201 {
        return Err(io::Error::other(format!(
            "upload answered {}: {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        )));
    }
    Ok(format!(r#"{{"bytes": {size}, "seconds": {seconds}}}"#))
}

#[cfg(target_os = "linux")]
fn send_file(socket: &TcpStream, file: &std::fs::File, size: u64) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut offset: libc::off_t = 0;
    while (offset as u64) < size {
        let left = (size - offset as u64).min(1 << 30) as usize;
        // SAFETY: both descriptors are open; the kernel advances `offset`.
        let sent =
            unsafe { libc::sendfile(socket.as_raw_fd(), file.as_raw_fd(), &mut offset, left) };
        if sent < 0 {
            let error = io::Error::last_os_error();
            if error.kind() != io::ErrorKind::Interrupted {
                return Err(error);
            }
        } else if sent == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn send_file(mut socket: &TcpStream, file: &std::fs::File, _size: u64) -> io::Result<()> {
    io::copy(&mut &*file, &mut socket).map(|_| ())
}

fn download(address: &str, path: &str, auth: &str, size: u64) -> io::Result<String> {
    let mut socket = TcpStream::connect(address)?;
    socket.set_nodelay(true)?;
    let started = Instant::now();
    write!(
        socket,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\n{}\r\n",
        authorization(auth)
    )?;
    let mut reader = BufReader::with_capacity(1 << 20, &socket);
    let (status, length) = read_head(&mut reader)?;
    if status != 200 || length != size {
        return Err(io::Error::other(format!(
            "download answered {status} with {length} bytes, not {size}"
        )));
    }
    let mut buffer = vec![0u8; 1 << 20];
    let mut got = 0u64;
    while got < length {
        let n = reader.read(&mut buffer)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        got += n as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(format!(r#"{{"bytes": {got}, "seconds": {seconds}}}"#))
}

struct Ecr {
    address: String,
    region: String,
    key: String,
    secret: String,
    action: String,
    body: String,
    connections: usize,
    seconds: f64,
}

fn ecr(call: &Ecr) -> io::Result<String> {
    let deadline = Instant::now() + Duration::from_secs_f64(call.seconds);
    let started = Instant::now();
    let results: Vec<io::Result<(Vec<Duration>, usize)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..call.connections)
            .map(|worker| scope.spawn(move || ecr_worker(call, worker, deadline)))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(io::Error::other("worker panicked")))
            })
            .collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for result in results {
        let (l, e) = result?;
        latencies.extend(l);
        errors += e;
    }
    latencies.sort();
    let percentile = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(format!(
        r#"{{"requests": {}, "seconds": {seconds}, "p50_ms": {}, "p99_ms": {}, "errors": {errors}}}"#,
        latencies.len(),
        percentile(0.5),
        percentile(0.99)
    ))
}

/// One connection's calls until the deadline: their latencies and how many failed.
fn ecr_worker(call: &Ecr, worker: usize, deadline: Instant) -> io::Result<(Vec<Duration>, usize)> {
    let socket = TcpStream::connect(&call.address)?;
    socket.set_nodelay(true)?;
    let mut writer = &socket;
    let mut reader = BufReader::new(&socket);
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut next_token: Option<String> = None;
    let mut n = worker * 7919;
    while Instant::now() < deadline {
        let mut body = call.body.replace("{tag}", &format!("t{:05}", n % 10_000));
        n += 1;
        if let Some(token) = &next_token {
            let mut json: serde_json::Value =
                serde_json::from_str(&body).map_err(io::Error::other)?;
            json["nextToken"] = serde_json::Value::String(token.clone());
            body = json.to_string();
        }
        let request = signed_request(call, &body, SystemTime::now());
        let started = Instant::now();
        writer.write_all(request.as_bytes())?;
        let response = read_response(&mut reader)?;
        latencies.push(started.elapsed());
        if response.status != 200 {
            errors += 1;
            next_token = None;
            continue;
        }
        next_token = serde_json::from_slice::<serde_json::Value>(&response.body)
            .ok()
            .and_then(|v| {
                v.get("nextToken")
                    .and_then(|t| t.as_str())
                    .map(str::to_string)
            });
    }
    Ok((latencies, errors))
}

/// A SigV4-signed `POST /` for the ECR API, signed by the console's signer.
fn signed_request(call: &Ecr, body: &str, now: SystemTime) -> String {
    let target = format!("AmazonEC2ContainerRegistry_V20150921.{}", call.action);
    let credentials = sigv4::Credentials {
        access_key_id: &call.key,
        secret_access_key: &call.secret,
        session_token: None,
    };
    let headers = sigv4::sign_post(
        &format!("http://{}", call.address),
        &call.region,
        berth_model::ECR_SIGNING_NAME,
        &credentials,
        &[
            ("Content-Type", berth_model::AWS_JSON_1_1),
            ("X-Amz-Target", &target),
        ],
        body,
        now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs(),
    );
    let mut request = format!("POST / HTTP/1.1\r\nHost: {}\r\n", call.address);
    for (name, value) in headers {
        request += &format!("{name}: {value}\r\n");
    }
    request + &format!("Content-Length: {}\r\n\r\n{body}", body.len())
}
