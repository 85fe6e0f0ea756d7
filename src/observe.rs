//! How the library tells its caller what happens while it works: an [`Observer`] is a function the
//! caller hands in (with a `with_*` builder method) and the library calls with each event, such as
//! [`Progress`] of a long step or a collector's notices. The library never prints or draws: the
//! command line turns these events into progress bars and messages on stderr, and a library user who
//! gives no observer hears nothing.

use std::fmt;
use std::sync::Arc;

/// A function called with events of type `T` as they happen, from whichever thread does the work
/// (so it must be `Send + Sync`). Cloning shares the function.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use tracecheck::observe::Observer;
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// let observer = Observer::new(move |n: &u64| log.lock().unwrap().push(*n));
/// observer.notify(&3);
/// observer.clone().notify(&4);
/// assert_eq!(*seen.lock().unwrap(), vec![3, 4]);
/// ```
pub struct Observer<T: ?Sized>(Arc<dyn Fn(&T) + Send + Sync>);

impl<T: ?Sized> Observer<T> {
    /// An observer calling `f` with each event.
    pub fn new(f: impl Fn(&T) + Send + Sync + 'static) -> Observer<T> {
        Observer(Arc::new(f))
    }

    /// Hands `event` to the function.
    pub fn notify(&self, event: &T) {
        (self.0)(event)
    }
}

impl<T: ?Sized> Clone for Observer<T> {
    fn clone(&self) -> Self {
        Observer(self.0.clone())
    }
}

/// Builders holding an observer stay `Debug`; the function itself has nothing to show.
impl<T: ?Sized> fmt::Debug for Observer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observer")
    }
}

/// A long step of work whose [`Progress`] is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Decoding input files; the units are bytes of input (compressed size for gzip).
    Decode,
    /// Writing an input sorted through spill files, a trace-id range at a time; the units are the
    /// spill's ranges.
    WriteRanges,
}

/// How far a [`Step`] has come: `Start`, any number of `Advance`s, then `Finish` (also after an
/// error, so a bar drawn for it can be cleared).
///
/// ```
/// use tracecheck::observe::{Progress, Step};
/// let p = Progress::Start { step: Step::Decode, total: 1 << 20 };
/// assert!(matches!(p, Progress::Start { step: Step::Decode, .. }));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A step begins with `total` units of work to do.
    Start {
        /// The step.
        step: Step,
        /// Its units of work (see [`Step`]).
        total: u64,
    },
    /// This many more units of the current step are done.
    Advance(u64),
    /// The current step is over.
    Finish,
}
