//! One PostgreSQL connection driven on the calling thread.
//!
//! tokio-postgres splits a connection in two: the `Client` that queries and
//! the `Connection` future that does the socket I/O. The usual way runs the
//! `Connection` as a task on a runtime, so every round trip crosses threads
//! twice (request to the I/O task, response back), each a wake-up and a
//! context switch; on the sync path that was most of the server's kernel
//! time. Here the `Connection` is polled by whoever queries, together with
//! the query, over a non-blocking socket: a query is a write, a `poll(2)`
//! on the socket and a read, all on the calling thread.
//!
//! [`Link::drive`] is that executor: it polls the query and the connection
//! until the query is done, waiting on the socket when neither can move. It
//! needs no tokio runtime, so the store works from `spawn_blocking`, from
//! plain threads, and from async code at startup and in tests (where a
//! runtime's `block_on`, as in the blocking `postgres` crate, would panic).
//! Between queries the connection is not polled: what the server sends then
//! (a notice, the end of the connection) waits in the socket until the next
//! query or [`Link::alive`], which the pool asks before handing it out.

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::Host;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, Config, NoTls};

use crate::{Result, StoreError};

/// The longest wait on the socket before the futures are polled again
/// anyway: a safety net against a lost wake-up, never the normal path.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// A connection's I/O future, whatever its TLS.
type ConnFuture =
    Pin<Box<dyn Future<Output = std::result::Result<(), tokio_postgres::Error>> + Send>>;

/// The socket's end the executor waits on, and what it waits for.
struct Waiter {
    /// A duplicate of the socket's descriptor (same socket).
    fd: OwnedFd,
    /// Set when a write found the socket's buffer full.
    want_write: Arc<AtomicBool>,
    /// Set by any wake-up (a response handed from the connection to the
    /// query, a request from the query to the connection).
    woken: Arc<Flag>,
}

struct Flag(AtomicBool);

/// What [`Waiter::run`] drives.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A query, with the connection's I/O.
    Query,
    /// Connecting (the future does its own I/O), until the deadline if any.
    Connect(Option<Instant>),
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

impl Waiter {
    /// Poll `fut` (and `conn`, the connection's I/O, when given) until `fut`
    /// is done; wait on the socket while neither can move.
    fn run<F: Future>(
        &self,
        conn: &mut Option<ConnFuture>,
        fut: F,
        phase: Phase,
    ) -> Result<F::Output> {
        let mut fut = pin!(fut);
        let waker = Waker::from(Arc::clone(&self.woken));
        let mut cx = Context::from_waker(&waker);
        loop {
            self.woken.0.store(false, Ordering::Release);
            self.want_write.store(false, Ordering::Release);
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                // What the future queued on its way out (the rollback of a
                // transaction it dropped, a closed statement) goes now,
                // not when the connection is next used: an open
                // transaction must not hold its locks in the pool.
                pump(conn, &mut cx);
                return Ok(out);
            }
            // No connection: gone (a query cannot finish), or not made yet
            // (connecting: the future does its own I/O).
            let open = conn.is_some();
            if !open && phase == Phase::Query {
                return Err(StoreError::Db("PostgreSQL connection closed".into()));
            }
            if open && !pump(conn, &mut cx) {
                // The connection ended: dropping it failed what is still
                // waiting for it, so the query returns its error at this
                // poll.
                if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                    return Ok(out);
                }
                return Err(StoreError::Db("PostgreSQL connection closed".into()));
            }
            if self.woken.0.load(Ordering::Acquire) {
                continue;
            }
            let mut wait = MAX_WAIT;
            if let Phase::Connect(Some(d)) = phase {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(StoreError::Db("connecting to PostgreSQL: timed out".into()));
                }
                wait = wait.min(left);
            }
            self.wait(wait)?;
        }
    }

    /// Wait until the socket is readable (or writable, when a write is
    /// pending), or `timeout`.
    fn wait(&self, timeout: Duration) -> Result<()> {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let mut flags = PollFlags::IN;
        if self.want_write.load(Ordering::Acquire) {
            flags |= PollFlags::OUT;
        }
        let mut fds = [PollFd::new(&self.fd, flags)];
        let t = Timespec {
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        match poll(&mut fds, Some(&t)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => Ok(()),
            Err(e) => Err(StoreError::Db(format!(
                "waiting on PostgreSQL's socket: {e}"
            ))),
        }
    }
}

/// Poll the connection's I/O once: send what is queued, handle what
/// arrived. When it has ended (logged if by an error) it is dropped, which
/// fails whatever still waits on it; false then, and when already gone.
fn pump(conn: &mut Option<ConnFuture>, cx: &mut Context<'_>) -> bool {
    let Some(c) = conn.as_mut() else {
        return false;
    };
    if let Poll::Ready(end) = c.as_mut().poll(cx) {
        if let Err(e) = end {
            tracing::warn!(error = %e, "PostgreSQL connection ended");
        }
        *conn = None;
    }
    conn.is_some()
}

/// A connected socket, non-blocking, as tokio-postgres reads and writes it.
pub(super) struct Socket {
    io: Stream,
    want_write: Arc<AtomicBool>,
}

enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            Stream::Unix(s) => s.read(buf),
        }
    }
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            Stream::Unix(s) => s.write(buf),
        }
    }
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write_vectored(bufs),
            Stream::Unix(s) => s.write_vectored(bufs),
        }
    }
    fn shutdown(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(std::net::Shutdown::Write),
            Stream::Unix(s) => s.shutdown(std::net::Shutdown::Write),
        }
    }
    fn set_nonblocking(&self) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_nonblocking(true),
            Stream::Unix(s) => s.set_nonblocking(true),
        }
    }
    fn fd(&self) -> io::Result<OwnedFd> {
        match self {
            Stream::Tcp(s) => s.as_fd().try_clone_to_owned(),
            Stream::Unix(s) => s.as_fd().try_clone_to_owned(),
        }
    }
}

/// `Ready` for what the socket did, `Pending` for "would block", retrying
/// an interrupted call.
fn ready<T>(mut op: impl FnMut() -> io::Result<T>, blocked: impl FnOnce()) -> Poll<io::Result<T>> {
    loop {
        match op() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                blocked();
                return Poll::Pending;
            }
            r => return Poll::Ready(r),
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // The executor polls again after the socket turns readable: no
        // waker to register.
        let me = self.get_mut();
        let dst = buf.initialize_unfilled();
        match ready(|| me.io.read(dst), || ()) {
            Poll::Ready(Ok(n)) => {
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let flag = &me.want_write;
        ready(|| me.io.write(buf), || flag.store(true, Ordering::Release))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let me = self.get_mut();
        let flag = &me.want_write;
        ready(
            || me.io.write_vectored(bufs),
            || flag.store(true, Ordering::Release),
        )
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.shutdown())
    }
}

/// A connection's I/O half and the executor that drives it with queries.
pub(crate) struct Link {
    conn: Option<ConnFuture>,
    waiter: Waiter,
}

impl Link {
    /// Run `fut` (queries on this link's client) to completion on the
    /// calling thread.
    pub(crate) fn drive<F: Future>(&mut self, fut: F) -> Result<F::Output> {
        self.waiter.run(&mut self.conn, fut, Phase::Query)
    }

    /// Handle what the server sent while the connection was idle (and send
    /// what the client queued, such as closing a dropped statement); false
    /// when the connection has ended.
    pub(super) fn alive(&mut self) -> bool {
        let waker = Waker::from(Arc::clone(&self.waiter.woken));
        pump(&mut self.conn, &mut Context::from_waker(&waker))
    }
}

/// Connect with `config` (its hosts in order, the first that answers), with
/// TLS when `tls` is given, as tokio-postgres's own `connect` does: TCP with
/// no delay and the configured keepalives, or a unix socket in a directory.
pub(super) fn connect(
    config: &Config,
    tls: Option<&tokio_postgres_rustls::MakeRustlsConnect>,
) -> Result<(Client, Link)> {
    let deadline = config.get_connect_timeout().map(|t| Instant::now() + *t);
    let hosts = config.get_hosts();
    let addrs = config.get_hostaddrs();
    let ports = config.get_ports();
    let n = hosts.len().max(addrs.len());
    if n == 0 {
        return Err(StoreError::Db("the PostgreSQL URL names no host".into()));
    }
    let mut last = None;
    for i in 0..n {
        let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
        let (stream, hostname) = match (hosts.get(i), addrs.get(i)) {
            (Some(Host::Unix(dir)), _) => {
                let path = dir.join(format!(".s.PGSQL.{port}"));
                match UnixStream::connect(&path) {
                    Ok(s) => (Ok(Stream::Unix(s)), String::new()),
                    Err(e) => (Err(e), String::new()),
                }
            }
            (host, addr) => {
                let name = match host {
                    Some(Host::Tcp(h)) => h.clone(),
                    _ => String::new(),
                };
                let targets: io::Result<Vec<SocketAddr>> = match addr {
                    Some(ip) => Ok(vec![SocketAddr::new(*ip, port)]),
                    None => (name.as_str(), port)
                        .to_socket_addrs()
                        .map(Iterator::collect),
                };
                (tcp(config, targets, deadline).map(Stream::Tcp), name)
            }
        };
        match stream.map_err(|e| StoreError::Db(format!("connecting to PostgreSQL: {e}"))) {
            Ok(s) => match handshake(config, tls, s, &hostname, deadline) {
                Ok(c) => return Ok(c),
                Err(e) => last = Some(e),
            },
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| StoreError::Db("connecting to PostgreSQL".into())))
}

/// The first of `targets` that accepts, before `deadline`.
fn tcp(
    config: &Config,
    targets: io::Result<Vec<SocketAddr>>,
    deadline: Option<Instant>,
) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for a in targets? {
        let attempt = match deadline {
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connection timed out",
                    ));
                }
                TcpStream::connect_timeout(&a, left)
            }
            None => TcpStream::connect(a),
        };
        match attempt {
            Ok(s) => {
                s.set_nodelay(true)?;
                let sock = socket2::SockRef::from(&s);
                if config.get_keepalives() {
                    let mut k =
                        socket2::TcpKeepalive::new().with_time(config.get_keepalives_idle());
                    if let Some(i) = config.get_keepalives_interval() {
                        k = k.with_interval(i);
                    }
                    if let Some(r) = config.get_keepalives_retries() {
                        k = k.with_retries(r);
                    }
                    sock.set_tcp_keepalive(&k)?;
                }
                if let Some(t) = config.get_tcp_user_timeout() {
                    sock.set_tcp_user_timeout(Some(*t))?;
                }
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Start-up, TLS and authentication over a connected stream.
fn handshake(
    config: &Config,
    tls: Option<&tokio_postgres_rustls::MakeRustlsConnect>,
    stream: Stream,
    hostname: &str,
    deadline: Option<Instant>,
) -> Result<(Client, Link)> {
    stream
        .set_nonblocking()
        .map_err(|e| StoreError::Db(format!("connecting to PostgreSQL: {e}")))?;
    let want_write = Arc::new(AtomicBool::new(false));
    let waiter = Waiter {
        fd: stream
            .fd()
            .map_err(|e| StoreError::Db(format!("connecting to PostgreSQL: {e}")))?,
        want_write: Arc::clone(&want_write),
        woken: Arc::new(Flag(AtomicBool::new(false))),
    };
    let socket = Socket {
        io: stream,
        want_write,
    };
    let phase = Phase::Connect(deadline);
    let (client, conn) = match tls {
        Some(make) => {
            let Ok(connector) =
                MakeTlsConnect::<Socket>::make_tls_connect(&mut make.clone(), hostname);
            start(&waiter, config, socket, connector, phase)?
        }
        None => start(&waiter, config, socket, NoTls, phase)?,
    };
    Ok((
        client,
        Link {
            conn: Some(conn),
            waiter,
        },
    ))
}

/// The start-up exchange over `socket` with `tls` (or none), driven by
/// `waiter`: the client and its connection's I/O.
fn start<T>(
    waiter: &Waiter,
    config: &Config,
    socket: Socket,
    tls: T,
    phase: Phase,
) -> Result<(Client, ConnFuture)>
where
    T: TlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, conn) = waiter.run(&mut None, config.connect_raw(socket, tls), phase)??;
    Ok((client, Box::pin(conn)))
}
