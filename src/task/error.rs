//! `JoinError`: why a task gave no output.

use std::any::Any;
use std::fmt;

/// A task did not return a value: it panicked, or it was cancelled.
///
/// asyncio raises the task's exception (or `CancelledError`) when you await
/// it; evloop hands you the reason as a value, so one failing task never
/// takes the loop or its siblings down.
///
/// ```
/// evloop::run(async {
///     let h = evloop::spawn(async { panic!("boom") });
///     let err: evloop::JoinError = h.await.unwrap_err();
///     assert!(err.is_panic());
///     assert_eq!(err.to_string(), "task-1 panicked: boom");
/// });
/// ```
///
/// In a function that returns `io::Result` (as most networking code does),
/// or `Result<_, Box<dyn Error + Send + Sync>>`, `?` converts it:
///
/// ```
/// use std::io;
///
/// async fn fetch_all() -> io::Result<usize> {
///     let worker = evloop::spawn(async { 21 * 2 });
///     let answer = worker.await?; // a JoinError becomes an io::Error
///     Ok(answer)
/// }
///
/// assert_eq!(evloop::run(fetch_all()).unwrap(), 42);
/// ```
pub struct JoinError {
    /// Boxed, so a `Result<T, JoinError>` is barely bigger than a `T`: every
    /// task stores one for its output, and errors are rare.
    inner: Box<Inner>,
}

struct Inner {
    id: u64,
    /// The task's name, if it had one: errors are read by people.
    name: Option<Box<str>>,
    repr: Repr,
}

enum Repr {
    Cancelled,
    Panic {
        /// The message, read out of the payload when the panic was caught.
        message: Option<String>,
        payload: Payload,
    },
}

/// A panic payload, reachable only by value (`into_panic`).
///
/// The payload is `Send` but not necessarily `Sync`. Because no `&` to it is
/// ever handed out, sharing a `&JoinError` between threads cannot touch it,
/// which makes `JoinError` `Sync` — so `?` can turn it into an `io::Error` or
/// a `Box<dyn Error + Send + Sync>`, as with tokio's.
struct Payload(Box<dyn Any + Send + 'static>);

// SAFETY: `Payload` exposes its contents only by value (`JoinError::into_panic`
// moves it out), never through a shared reference, so `&Payload` being sent
// to another thread gives that thread no access to the non-`Sync` data.
unsafe impl Sync for Payload {}

impl JoinError {
    pub(crate) fn cancelled(id: u64, name: Option<Box<str>>) -> JoinError {
        let repr = Repr::Cancelled;
        JoinError {
            inner: Box::new(Inner { id, name, repr }),
        }
    }

    pub(crate) fn panic(
        id: u64,
        name: Option<Box<str>>,
        payload: Box<dyn Any + Send + 'static>,
    ) -> JoinError {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned());
        let repr = Repr::Panic {
            message,
            payload: Payload(payload),
        };
        JoinError {
            inner: Box::new(Inner { id, name, repr }),
        }
    }

    /// Was the task aborted (`JoinHandle::abort`)?
    pub fn is_cancelled(&self) -> bool {
        matches!(self.inner.repr, Repr::Cancelled)
    }

    /// Did the task panic?
    pub fn is_panic(&self) -> bool {
        matches!(self.inner.repr, Repr::Panic { .. })
    }

    /// The id of the task that failed.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The name of the task that failed, if it was spawned with one
    /// (`task::Builder::name`).
    pub fn name(&self) -> Option<&str> {
        self.inner.name.as_deref()
    }

    /// How the task is called in messages: `` task `name` `` or `task-N`.
    fn who(&self) -> String {
        super::describe(self.inner.id, self.name())
    }

    /// The panic's message, when it was a string (as `panic!("...")` makes).
    pub fn panic_message(&self) -> Option<&str> {
        match &self.inner.repr {
            Repr::Panic { message, .. } => message.as_deref(),
            Repr::Cancelled => None,
        }
    }

    /// The panic payload, to re-raise it with `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the task was cancelled rather than panicked; see [`try_into_panic`](Self::try_into_panic).
    /// The panic names the caller's line (`#[track_caller]`): that is where
    /// the mistake is.
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("`JoinError::into_panic` called on a cancelled task")
    }

    /// The panic payload, or the error back if the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.inner.repr {
            Repr::Panic { payload, .. } => Ok(payload.0),
            Repr::Cancelled => Err(self),
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.repr {
            Repr::Cancelled => write!(f, "{} was cancelled", self.who()),
            Repr::Panic { .. } => match self.panic_message() {
                Some(msg) => write!(f, "{} panicked: {msg}", self.who()),
                None => write!(f, "{} panicked", self.who()),
            },
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({})", self.who()),
            Repr::Panic { .. } => write!(
                f,
                "JoinError::Panic({}, {:?})",
                self.who(),
                self.panic_message()
            ),
        }
    }
}

impl std::error::Error for JoinError {}

/// A failed task as an I/O error, so `handle.await?` works in a function
/// that returns `io::Result`.
///
/// The kind is [`Other`](std::io::ErrorKind::Other) (a task's failure is no
/// particular I/O failure); the message is the `JoinError`'s, and the
/// `JoinError` itself is kept inside: `err.into_inner()` and a `downcast`
/// give it back, to ask `is_panic()` or take the payload.
///
/// ```
/// let rt = evloop::Runtime::new().unwrap();
/// let err: std::io::Error = rt.block_on(async {
///     let handle = evloop::spawn(async { panic!("disk on fire") });
///     handle.await.unwrap_err().into()
/// });
/// assert_eq!(err.kind(), std::io::ErrorKind::Other);
/// assert_eq!(err.to_string(), "task-1 panicked: disk on fire");
/// let join = err.into_inner().unwrap().downcast::<evloop::JoinError>().unwrap();
/// assert!(join.is_panic());
/// ```
impl From<JoinError> for std::io::Error {
    fn from(err: JoinError) -> std::io::Error {
        std::io::Error::other(err)
    }
}
