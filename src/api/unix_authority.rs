//! HTTP/2 over a unix socket as stock gRPC clients speak it.
//!
//! gRPC core (Python, C++, Ruby; since 1.57), grpc-java and grpc-swift name the socket in a
//! request's `:authority` — the path percent-encoded (`%2Frun%2Fnotaryd.sock`) or bare — and
//! h2, under tonic and hyper, answers a request whose `:authority` is not an RFC 3986
//! authority with RST_STREAM(PROTOCOL_ERROR) (hyperium/h2#487, open). grpc-go, crictl,
//! kubelet and notaryd's own clients send `localhost`.
//!
//! So every accepted connection is read here before the HTTP/2 server sees it, and its first
//! header block decides. A valid `:authority` (or none): the connection is passed through
//! untouched from then on. An invalid one: every header block the client sends on that
//! connection is decoded (HPACK, with the client's dynamic table) and encoded again (with a
//! table of our own, which is then the only encoder the server's decoder sees), with
//! `:authority: localhost` in place of the invalid value. Nothing else changes; the server
//! writes to the socket directly. A malformed frame or header block ends the connection,
//! as the HTTP/2 server would.

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::net::UnixStream;
use tonic::transport::server::{Connected, UdsConnectInfo};

/// The client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADER: usize = 9;
const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;
/// The largest frame payload the server accepts: h2's default SETTINGS_MAX_FRAME_SIZE,
/// which notaryd does not change. Frames written here are cut to it.
const MAX_FRAME_PAYLOAD: usize = 16_384;
/// The dynamic table the server allows (SETTINGS_HEADER_TABLE_SIZE: h2 sends none, so the
/// default). A client's table size update beyond it is an error, not a larger table. Our
/// encoder's table is the same default size, which the server's decoder allows. Both hold
/// only while neither HTTP/2 server (daemon/mod.rs, cri/mod.rs) sets `header_table_size`.
const HEADER_TABLE_SIZE: usize = 4096;
/// The largest header block read (all frames of one block, compressed). gRPC requests carry
/// a few hundred bytes, and the server refuses a decoded list over 16 KiB anyway.
pub const MAX_HEADER_BLOCK_BYTES: usize = 64 * 1024;
/// The largest decoded header list, counted as RFC 7541 §4.1 sizes entries (name, value and
/// 32 bytes each, so that empty entries are not free): a bound on what a small block can
/// expand to through the dynamic table.
pub const MAX_HEADER_LIST_BYTES: usize = 64 * 1024;
/// What RFC 7541 §4.1 adds to each entry's size.
const ENTRY_OVERHEAD: usize = 32;
/// What the server is told instead of a socket path.
const LOCALHOST: &[u8] = b"localhost";
/// Bytes buffered between the rewriter and the server.
const PIPE_BYTES: usize = 64 * 1024;

/// Why a connection was ended here.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    /// Reading from the client or writing to the server failed.
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    /// A frame sequence HTTP/2 forbids.
    #[error("HTTP/2 protocol error: {0}")]
    Protocol(&'static str),
    /// A header block over [`MAX_HEADER_BLOCK_BYTES`] or decoding to more than
    /// [`MAX_HEADER_LIST_BYTES`].
    #[error("a header block of more than {0} bytes")]
    TooLarge(usize),
    /// HPACK refused the header block.
    #[error("HPACK: {0:?}")]
    Compression(loona_hpack::decoder::DecoderError),
}

/// An accepted connection as the HTTP/2 server sees it: the client's bytes after the
/// `:authority` check, the server's written straight to the socket (so nothing is added to
/// their path: the server's SETTINGS reach the client as soon as they would without the
/// check), with the peer's credentials of the real socket.
#[derive(Debug)]
pub struct UnixConnection {
    rx: DuplexStream,
    tx: tokio::net::unix::OwnedWriteHalf,
    info: UdsConnectInfo,
    /// Dropped with the connection, which stops the task reading the client.
    _closed: tokio::sync::oneshot::Sender<()>,
}

/// Takes an accepted connection: starts the task that reads the client through the check
/// and returns what the HTTP/2 server should serve. The task ends when the client stops
/// sending, on a malformed frame (the server then reads the end of the stream and closes
/// the connection), or when the server drops the connection.
pub fn accept(stream: UnixStream) -> UnixConnection {
    let info = stream.connect_info();
    let (read, tx) = stream.into_split();
    let (ours, rx) = tokio::io::duplex(PIPE_BYTES);
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        tokio::select! {
            r = forward_client(BufReader::new(read), ours) => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "unix socket connection ended");
                }
            }
            _ = closed_rx => {}
        }
    });
    UnixConnection {
        rx,
        tx,
        info,
        _closed: closed_tx,
    }
}

/// What the first header block decided.
enum Mode {
    Undecided,
    Rewrite {
        decoder: Box<loona_hpack::Decoder<'static>>,
        encoder: Box<loona_hpack::Encoder<'static>>,
    },
}

/// Copies the client's side of one connection to `server`, checking `:authority` (public
/// for the fuzz target; [`accept`] is how the daemon uses it).
#[doc(hidden)]
pub async fn forward_client<R, W>(mut client: R, mut server: W) -> Result<(), AuthorityError>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut preface = [0u8; PREFACE.len()];
    let got = read_full(&mut client, &mut preface).await?;
    server.write_all(&preface[..got]).await?;
    if got < PREFACE.len() || &preface != PREFACE {
        // Not HTTP/2 with prior knowledge: the server says so.
        tokio::io::copy(&mut client, &mut server).await?;
        return finish(server).await;
    }
    let mut mode = Mode::Undecided;
    loop {
        let mut head = [0u8; FRAME_HEADER];
        match read_full(&mut client, &mut head).await? {
            0 => return finish(server).await,
            FRAME_HEADER => {}
            n => {
                server.write_all(&head[..n]).await?;
                return finish(server).await;
            }
        }
        let frame = FrameHead::parse(&head);
        if frame.kind != HEADERS {
            server.write_all(&head).await?;
            let copied =
                tokio::io::copy(&mut (&mut client).take(frame.len as u64), &mut server).await?;
            if copied < frame.len as u64 {
                return finish(server).await;
            }
            continue;
        }
        let block = read_header_block(&mut client, head, frame).await?;
        match &mut mode {
            Mode::Undecided => {
                let mut decoder = Box::new(loona_hpack::Decoder::new());
                decoder.set_max_allowed_table_size(HEADER_TABLE_SIZE);
                let headers = decode(&mut decoder, &block.fragment)?;
                if authority_is_valid(&headers) {
                    // The server decodes the client's own bytes from here on.
                    server.write_all(&block.raw).await?;
                    tokio::io::copy(&mut client, &mut server).await?;
                    return finish(server).await;
                }
                let mut encoder = Box::new(loona_hpack::Encoder::new());
                server
                    .write_all(&reencode(&mut encoder, headers, &block))
                    .await?;
                mode = Mode::Rewrite { decoder, encoder };
            }
            Mode::Rewrite { decoder, encoder } => {
                let headers = decode(decoder, &block.fragment)?;
                server
                    .write_all(&reencode(encoder, headers, &block))
                    .await?;
            }
        }
    }
}

async fn finish<W: AsyncWrite + Unpin>(mut server: W) -> Result<(), AuthorityError> {
    server.shutdown().await?;
    Ok(())
}

/// Reads until `buf` is full or the stream ends; returns how much was read.
async fn read_full<R: AsyncRead + Unpin>(r: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]).await? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// The 9-byte frame header.
#[derive(Clone, Copy, Debug)]
struct FrameHead {
    len: usize,
    kind: u8,
    flags: u8,
    stream: u32,
}

impl FrameHead {
    fn parse(h: &[u8; FRAME_HEADER]) -> Self {
        Self {
            len: usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]),
            kind: h[3],
            flags: h[4],
            stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
        }
    }

    fn write(len: usize, kind: u8, flags: u8, stream: u32, out: &mut Vec<u8>) {
        // len is at most MAX_FRAME_PAYLOAD here, well inside 24 bits.
        out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        out.extend_from_slice(&[kind, flags]);
        out.extend_from_slice(&stream.to_be_bytes());
    }
}

/// One header block: the HEADERS frame and its CONTINUATION frames.
struct HeaderBlock {
    /// The frames as received.
    raw: Vec<u8>,
    /// The HPACK bytes, without padding and priority.
    fragment: Vec<u8>,
    stream: u32,
    end_stream: bool,
    priority: Option<[u8; 5]>,
}

async fn read_header_block<R: AsyncRead + Unpin>(
    client: &mut R,
    head: [u8; FRAME_HEADER],
    first: FrameHead,
) -> Result<HeaderBlock, AuthorityError> {
    let mut raw = head.to_vec();
    let payload = read_payload(client, first.len, &mut raw).await?;
    let mut body = &payload[..];
    let mut pad = 0;
    if first.flags & PADDED != 0 {
        let (&n, rest) = body.split_first().ok_or(AuthorityError::Protocol(
            "PADDED HEADERS without a pad length",
        ))?;
        pad = usize::from(n);
        body = rest;
    }
    let mut priority = None;
    if first.flags & PRIORITY != 0 {
        let (p, rest) = body
            .split_first_chunk::<5>()
            .ok_or(AuthorityError::Protocol(
                "PRIORITY HEADERS shorter than 5 bytes",
            ))?;
        priority = Some(*p);
        body = rest;
    }
    if pad > body.len() {
        return Err(AuthorityError::Protocol(
            "HEADERS padding longer than its payload",
        ));
    }
    let mut fragment = body[..body.len() - pad].to_vec();
    let mut flags = first.flags;
    while flags & END_HEADERS == 0 {
        let mut head = [0u8; FRAME_HEADER];
        if read_full(client, &mut head).await? != FRAME_HEADER {
            return Err(AuthorityError::Protocol(
                "connection ended inside a header block",
            ));
        }
        let next = FrameHead::parse(&head);
        if next.kind != CONTINUATION || next.stream != first.stream {
            return Err(AuthorityError::Protocol(
                "a header block not continued by CONTINUATION on its stream",
            ));
        }
        raw.extend_from_slice(&head);
        fragment.extend_from_slice(&read_payload(client, next.len, &mut raw).await?);
        flags = next.flags;
    }
    Ok(HeaderBlock {
        raw,
        fragment,
        stream: first.stream,
        end_stream: first.flags & END_STREAM != 0,
        priority,
    })
}

/// Reads one frame's payload (appending it to `raw` too), within the block cap.
async fn read_payload<R: AsyncRead + Unpin>(
    client: &mut R,
    len: usize,
    raw: &mut Vec<u8>,
) -> Result<Vec<u8>, AuthorityError> {
    if len > MAX_FRAME_PAYLOAD {
        // Over the server's SETTINGS_MAX_FRAME_SIZE: it would answer FRAME_SIZE_ERROR.
        return Err(AuthorityError::Protocol(
            "a header frame larger than the server's frame size",
        ));
    }
    if raw.len() + len > MAX_HEADER_BLOCK_BYTES {
        return Err(AuthorityError::TooLarge(MAX_HEADER_BLOCK_BYTES));
    }
    let mut payload = vec![0u8; len];
    client.read_exact(&mut payload).await?;
    raw.extend_from_slice(&payload);
    Ok(payload)
}

type HeaderList = Vec<(Vec<u8>, Vec<u8>)>;

fn decode(
    decoder: &mut loona_hpack::Decoder<'static>,
    fragment: &[u8],
) -> Result<HeaderList, AuthorityError> {
    let mut list = Vec::new();
    let mut size = 0usize;
    let mut too_large = false;
    decoder
        .decode_with_cb(fragment, |name, value| {
            size += name.len() + value.len() + ENTRY_OVERHEAD;
            if size > MAX_HEADER_LIST_BYTES {
                too_large = true;
            } else {
                list.push((name.into_owned(), value.into_owned()));
            }
        })
        .map_err(AuthorityError::Compression)?;
    if too_large {
        return Err(AuthorityError::TooLarge(MAX_HEADER_LIST_BYTES));
    }
    Ok(list)
}

/// Whether the server will take this block's `:authority` (checked as h2 checks it).
fn authority_is_valid(headers: &HeaderList) -> bool {
    headers
        .iter()
        .filter(|(name, _)| name == b":authority")
        .all(|(_, value)| http::uri::Authority::try_from(value.as_slice()).is_ok())
}

/// The block as frames again, encoded with our table, the invalid `:authority` replaced.
fn reencode(
    encoder: &mut loona_hpack::Encoder<'static>,
    mut headers: HeaderList,
    block: &HeaderBlock,
) -> Vec<u8> {
    for (name, value) in &mut headers {
        if name == b":authority" && http::uri::Authority::try_from(value.as_slice()).is_err() {
            *value = LOCALHOST.to_vec();
        }
    }
    let encoded = encoder.encode(headers.iter().map(|(n, v)| (n.as_slice(), v.as_slice())));
    frames(block, &encoded)
}

/// HEADERS (with the block's END_STREAM and priority) and as many CONTINUATION frames as
/// `encoded` needs at the server's frame size.
fn frames(block: &HeaderBlock, encoded: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded.len() + 2 * FRAME_HEADER + 5);
    let prio = block.priority.as_ref().map_or(&[][..], |p| &p[..]);
    let first = encoded.len().min(MAX_FRAME_PAYLOAD - prio.len());
    let (head, mut rest) = encoded.split_at(first);
    let mut flags = 0;
    if block.end_stream {
        flags |= END_STREAM;
    }
    if block.priority.is_some() {
        flags |= PRIORITY;
    }
    if rest.is_empty() {
        flags |= END_HEADERS;
    }
    FrameHead::write(
        prio.len() + head.len(),
        HEADERS,
        flags,
        block.stream,
        &mut out,
    );
    out.extend_from_slice(prio);
    out.extend_from_slice(head);
    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(rest.len().min(MAX_FRAME_PAYLOAD));
        let flags = if after.is_empty() { END_HEADERS } else { 0 };
        FrameHead::write(chunk.len(), CONTINUATION, flags, block.stream, &mut out);
        out.extend_from_slice(chunk);
        rest = after;
    }
    out
}

impl AsyncRead for UnixConnection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.rx).poll_read(cx, buf)
    }
}

impl AsyncWrite for UnixConnection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tx).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tx).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tx.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tx).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tx).poll_shutdown(cx)
    }
}

impl Connected for UnixConnection {
    type ConnectInfo = UdsConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.info.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers_frame(stream: u32, flags: u8, fragment: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        FrameHead::write(fragment.len(), HEADERS, flags, stream, &mut out);
        out.extend_from_slice(fragment);
        out
    }

    fn request(authority: &[u8]) -> HeaderList {
        vec![
            (b":method".to_vec(), b"POST".to_vec()),
            (b":scheme".to_vec(), b"http".to_vec()),
            (b":path".to_vec(), b"/notaryd.v1.Verifier/Status".to_vec()),
            (b":authority".to_vec(), authority.to_vec()),
            (b"content-type".to_vec(), b"application/grpc".to_vec()),
            (b"te".to_vec(), b"trailers".to_vec()),
        ]
    }

    fn encode(encoder: &mut loona_hpack::Encoder<'static>, list: &HeaderList) -> Vec<u8> {
        encoder.encode(list.iter().map(|(n, v)| (n.as_slice(), v.as_slice())))
    }

    /// Runs `client` bytes through the rewriter; returns what the server would read.
    async fn through(client: Vec<u8>) -> Result<Vec<u8>, AuthorityError> {
        let (mut server_end, ours) = tokio::io::duplex(1 << 20);
        forward_client(&client[..], ours).await?;
        let mut out = Vec::new();
        server_end.read_to_end(&mut out).await?;
        Ok(out)
    }

    /// The header blocks in `bytes` (after the preface), decoded as the server would.
    fn server_view(bytes: &[u8]) -> Vec<HeaderList> {
        assert_eq!(&bytes[..PREFACE.len()], PREFACE);
        let mut rest = &bytes[PREFACE.len()..];
        let mut decoder = loona_hpack::Decoder::new();
        let mut blocks = Vec::new();
        let mut fragment = Vec::new();
        while !rest.is_empty() {
            let head = FrameHead::parse(rest[..FRAME_HEADER].try_into().unwrap());
            let payload = &rest[FRAME_HEADER..FRAME_HEADER + head.len];
            assert!(
                head.len <= MAX_FRAME_PAYLOAD,
                "frame over the server's size"
            );
            if head.kind == HEADERS || head.kind == CONTINUATION {
                let skip = if head.kind == HEADERS && head.flags & PRIORITY != 0 {
                    5
                } else {
                    0
                };
                fragment.extend_from_slice(&payload[skip..]);
                if head.flags & END_HEADERS != 0 {
                    blocks.push(decoder.decode(&fragment).unwrap());
                    fragment.clear();
                }
            }
            rest = &rest[FRAME_HEADER + head.len..];
        }
        blocks
    }

    #[test]
    fn socket_paths_are_not_authorities_and_hosts_are() {
        for bad in [
            &b"%2Frun%2Fnotaryd%2Fnotaryd.sock"[..],
            b"/run/notaryd/notaryd.sock",
            b"unix:/x",
        ] {
            assert!(
                !authority_is_valid(&request(bad)),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        for good in [&b"localhost"[..], b"127.0.0.1:5000", b"notaryd"] {
            assert!(
                authority_is_valid(&request(good)),
                "{}",
                String::from_utf8_lossy(good)
            );
        }
    }

    #[tokio::test]
    async fn a_socket_path_authority_becomes_localhost_in_every_block() {
        let mut client = PREFACE.to_vec();
        // A SETTINGS frame first, passed as it is.
        client.extend_from_slice(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
        let mut encoder = loona_hpack::Encoder::new();
        let path = b"%2Frun%2Fnotaryd%2Fnotaryd.sock";
        // Three requests: the second and third refer to the client's dynamic table.
        for stream in [1u32, 3, 5] {
            client.extend(headers_frame(
                stream,
                END_HEADERS,
                &encode(&mut encoder, &request(path)),
            ));
        }
        let out = through(client).await.unwrap();
        assert_eq!(
            &out[PREFACE.len()..PREFACE.len() + 9],
            &[0, 0, 0, 0x4, 0, 0, 0, 0, 0]
        );
        let blocks = server_view(&out);
        assert_eq!(blocks.len(), 3);
        for block in blocks {
            assert_eq!(block, request(b"localhost"));
        }
    }

    #[tokio::test]
    async fn a_valid_authority_passes_the_connection_through_byte_for_byte() {
        let mut client = PREFACE.to_vec();
        let mut encoder = loona_hpack::Encoder::new();
        client.extend(headers_frame(
            1,
            END_HEADERS,
            &encode(&mut encoder, &request(b"localhost")),
        ));
        // Later bytes are not inspected once the connection is passed through.
        client.extend(headers_frame(
            3,
            END_HEADERS,
            &encode(&mut encoder, &request(b"/x")),
        ));
        client.extend_from_slice(b"trailing");
        assert_eq!(through(client.clone()).await.unwrap(), client);
    }

    #[tokio::test]
    async fn continuation_padding_and_priority_are_read_and_large_blocks_cut_to_frames() {
        let mut client = PREFACE.to_vec();
        let mut encoder = loona_hpack::Encoder::new();
        let mut list = request(b"%2Fs");
        list.push((b"x-big".to_vec(), vec![b'a'; 40_000]));
        let fragment = encode(&mut encoder, &list);
        // HEADERS with padding and priority carrying the first 100 bytes, the rest in two
        // CONTINUATION frames.
        let mut payload = vec![3u8];
        payload.extend_from_slice(&[0, 0, 0, 0, 16]);
        payload.extend_from_slice(&fragment[..100]);
        payload.extend_from_slice(&[0, 0, 0]);
        let mut head = Vec::new();
        FrameHead::write(
            payload.len(),
            HEADERS,
            PADDED | PRIORITY | END_STREAM,
            1,
            &mut head,
        );
        client.extend(head);
        client.extend(payload);
        let chunks: Vec<&[u8]> = fragment[100..].chunks(16_000).collect();
        assert!(chunks.len() >= 3);
        for (i, chunk) in chunks.iter().enumerate() {
            let flags = if i + 1 == chunks.len() {
                END_HEADERS
            } else {
                0
            };
            let mut head = Vec::new();
            FrameHead::write(chunk.len(), CONTINUATION, flags, 1, &mut head);
            client.extend(head);
            client.extend_from_slice(chunk);
        }
        let out = through(client).await.unwrap();
        let first = FrameHead::parse(out[PREFACE.len()..PREFACE.len() + 9].try_into().unwrap());
        assert_eq!(first.kind, HEADERS);
        assert_eq!(
            first.flags & (END_STREAM | PRIORITY | END_HEADERS),
            END_STREAM | PRIORITY
        );
        let mut want = list.clone();
        want[3].1 = b"localhost".to_vec();
        assert_eq!(server_view(&out), vec![want]);
    }

    #[tokio::test]
    async fn malformed_input_ends_the_connection() {
        let mut encoder = loona_hpack::Encoder::new();
        let good = encode(&mut encoder, &request(b"%2Fs"));
        let cases: Vec<(&str, Vec<u8>)> = vec![
            (
                "HPACK index out of range",
                headers_frame(1, END_HEADERS, &[0xff, 0xff, 0x7f]),
            ),
            ("pad longer than payload", {
                let mut f = Vec::new();
                FrameHead::write(2, HEADERS, PADDED | END_HEADERS, 1, &mut f);
                f.extend_from_slice(&[9, 0]);
                f
            }),
            ("a header frame over the server's frame size", {
                let mut f = Vec::new();
                FrameHead::write(MAX_FRAME_PAYLOAD + 1, HEADERS, END_HEADERS, 1, &mut f);
                f.extend(vec![0u8; MAX_FRAME_PAYLOAD + 1]);
                f
            }),
            ("empty entries repeated past the list cap", {
                // One empty literal into the dynamic table, then 1-byte references to it.
                let mut block = vec![0x40, 0x00, 0x00];
                block.extend(std::iter::repeat_n(0xbe, 16_000));
                headers_frame(1, END_HEADERS, &block)
            }),
            ("no CONTINUATION", {
                let mut f = headers_frame(1, 0, &good);
                f.extend(headers_frame(3, END_HEADERS, &good));
                f
            }),
            ("block over the cap", {
                let mut f = Vec::new();
                FrameHead::write(16_000, HEADERS, 0, 1, &mut f);
                f.extend(vec![0u8; 16_000]);
                for _ in 0..(MAX_HEADER_BLOCK_BYTES / 16_000) {
                    FrameHead::write(16_000, CONTINUATION, 0, 1, &mut f);
                    f.extend(vec![0u8; 16_000]);
                }
                f
            }),
            (
                "table size update over the server's",
                headers_frame(1, END_HEADERS, &[0x3f, 0xe1, 0xff, 0x03, 0x82]),
            ),
        ];
        for (what, frames) in cases {
            let mut client = PREFACE.to_vec();
            client.extend(frames);
            assert!(through(client).await.is_err(), "{what}: accepted");
        }
    }

    #[tokio::test]
    async fn a_connection_that_is_not_http2_is_passed_as_it_is() {
        let client = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
        assert_eq!(through(client.clone()).await.unwrap(), client);
        assert_eq!(through(b"PRI".to_vec()).await.unwrap(), b"PRI");
    }
}
