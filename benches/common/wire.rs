//! HTTP/1.1 on a raw connection, for the bench programs: requests are formatted in advance and
//! answers read as a status and a body, so the client spends a few microseconds per call (a
//! general HTTP client spends tens, on the cores the server needs).

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Reads one HTTP/1.1 answer (headers, then `Content-Length` bytes of body) into `buf`; returns
/// its status and where its body is in `buf`. encore always sends a length, never a chunked
/// body, to these calls.
#[allow(dead_code)] // not every bench program reads whole answers
pub async fn read_answer(conn: &mut TcpStream, buf: &mut Vec<u8>) -> (u16, std::ops::Range<usize>) {
    buf.clear();
    next_answer(conn, buf, 0).await
}

/// Reads `n` answers to requests sent back to back on one connection (pipelined), calling
/// `each` with the status and body of each in turn.
#[allow(dead_code)] // not every bench program pipelines
pub async fn read_answers(
    conn: &mut TcpStream,
    buf: &mut Vec<u8>,
    n: usize,
    mut each: impl FnMut(u16, &[u8]),
) {
    buf.clear();
    let mut at = 0;
    for _ in 0..n {
        let (status, body) = next_answer(conn, buf, at).await;
        each(status, &buf[body.clone()]);
        at = body.end;
    }
}

/// The answer that starts at `at` in `buf`, reading more until it is whole.
async fn next_answer(
    conn: &mut TcpStream,
    buf: &mut Vec<u8>,
    at: usize,
) -> (u16, std::ops::Range<usize>) {
    loop {
        if let Some(end) = buf[at..].windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[at..at + end]).expect("ASCII head");
            let status = head[9..12].parse().expect("status code");
            let length: usize = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse().expect("length"))
                })
                .expect("Content-Length");
            let body = at + end + 4;
            while buf.len() < body + length {
                read_more(conn, buf).await;
            }
            return (status, body..body + length);
        }
        read_more(conn, buf).await;
    }
}

async fn read_more(conn: &mut TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    let n = conn.read(&mut chunk).await.expect("read");
    assert!(n > 0, "the server closed the connection");
    buf.extend_from_slice(&chunk[..n]);
}

/// The milliseconds since the epoch now, as the other bench tools report times.
#[allow(dead_code)] // not every bench program reports wall-clock times
pub fn epoch_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
