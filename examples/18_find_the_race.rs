//! Lesson 18 — find the race: a check-then-act across an `.await`, found by
//! exploring seeds, replayed from one, and fixed.
//!
//! Alice and Bob share an account holding 100. Each withdraws 60. The bank
//! checks the balance, writes the withdrawal to its ledger (an `.await`: the
//! ledger is another task), then stores the new balance. Under evloop's
//! first-in-first-out order the test passes every time: Alice's withdrawal
//! finishes before Bob's check. Under another order — just as possible on a
//! real server, where a packet arrives a little earlier — both checks see
//! 100 and the bank pays out 120. The asyncio original has the same bug:
//!
//! ```python
//! async def withdraw(account, ledger, amount):
//!     balance = account.balance                # check
//!     if balance < amount:
//!         raise Refused(balance, amount)
//!     await ledger.record(amount)              # the await: other tasks run here
//!     account.balance = balance - amount       # act, on the balance read above
//! ```
//!
//! ```text
//! cargo run --example 18_find_the_race              # FIFO passes, exploring finds it, the fix holds
//! cargo run --example 18_find_the_race -- --trace   # and print the failing run's timeline
//! cargo run --release --example 18_find_the_race -- --measure   # seeds until found, over 100 explorations
//! ```

use std::sync::{Arc, Mutex};

use evloop::sync::{mpsc, oneshot};
use evloop::task::Builder;
use evloop::testing::Explore;

/// What the account starts with, and what each customer asks for.
pub const OPENING_BALANCE: u64 = 100;
pub const WITHDRAWAL: u64 = 60;

// ANCHOR: account
/// The shared balance. A `std` mutex, held for one read or one write and
/// never across an `.await` — which is exactly what lets the race through:
/// each step is safe, the sequence is not.
#[derive(Default)]
pub struct Account {
    balance: Mutex<u64>,
}

impl Account {
    pub fn open(balance: u64) -> Arc<Account> {
        Arc::new(Account {
            balance: Mutex::new(balance),
        })
    }

    pub fn balance(&self) -> u64 {
        *self.balance.lock().unwrap()
    }

    fn set(&self, balance: u64) {
        *self.balance.lock().unwrap() = balance;
    }

    /// Check and act in one step: take `amount` if it is there.
    fn take(&self, amount: u64) -> Result<u64, Refused> {
        let mut balance = self.balance.lock().unwrap();
        let left = balance.checked_sub(amount).ok_or(Refused {
            balance: *balance,
            amount,
        })?;
        *balance = left;
        Ok(left)
    }
}

/// A withdrawal the balance does not cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub balance: u64,
    pub amount: u64,
}
// ANCHOR_END: account

/// The ledger: a task that writes each withdrawal down and says when it has.
#[derive(Clone)]
pub struct Ledger {
    requests: mpsc::UnboundedSender<(u64, oneshot::Sender<()>)>,
}

impl Ledger {
    /// Start the ledger's task; it ends when every `Ledger` is dropped.
    pub fn start(entries: Arc<Mutex<Vec<u64>>>) -> Ledger {
        let (requests, mut incoming) = mpsc::unbounded_channel::<(u64, oneshot::Sender<()>)>();
        Builder::new().name("ledger").spawn(async move {
            while let Some((amount, written)) = incoming.recv().await {
                entries.lock().unwrap().push(amount);
                let _ = written.send(());
            }
        });
        Ledger { requests }
    }

    /// Write `amount` down; returns once the ledger has.
    pub async fn record(&self, amount: u64) {
        let (written, done) = oneshot::channel();
        if self.requests.send((amount, written)).is_ok() {
            let _ = done.await;
        }
    }
}

// ANCHOR: racy
/// Check, await, act: the race. Between the check and the act, the `.await`
/// lets every other task run — and one of them may withdraw too.
pub async fn withdraw_racy(
    account: &Account,
    ledger: &Ledger,
    amount: u64,
) -> Result<u64, Refused> {
    let balance = account.balance(); // check
    if balance < amount {
        return Err(Refused { balance, amount });
    }
    ledger.record(amount).await; // other tasks run here
    account.set(balance - amount); // act, on a balance that may be stale
    Ok(balance - amount)
}
// ANCHOR_END: racy

// ANCHOR: fixed
/// The fix: check and act with no `.await` between them (take the money,
/// then write it down). Nothing can run in a gap that is not there.
pub async fn withdraw_fixed(
    account: &Account,
    ledger: &Ledger,
    amount: u64,
) -> Result<u64, Refused> {
    let left = account.take(amount)?; // check and act, one step
    ledger.record(amount).await;
    Ok(left)
}
// ANCHOR_END: fixed

/// Which withdrawal the bank runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bank {
    Racy,
    Fixed,
}

/// The login service: Bob must log in before he can withdraw (a round trip
/// to another task); Alice already is.
pub fn start_auth() -> mpsc::UnboundedSender<oneshot::Sender<()>> {
    let (logins, mut incoming) = mpsc::unbounded_channel::<oneshot::Sender<()>>();
    Builder::new().name("auth").spawn(async move {
        while let Some(welcome) = incoming.recv().await {
            let _ = welcome.send(());
        }
    });
    logins
}

// ANCHOR: two_customers
/// Alice and Bob withdraw 60 each from 100. The check: the money paid out
/// plus the money left is what the account held, and the ledger agrees.
pub async fn two_customers(bank: Bank) -> Result<(), String> {
    let account = Account::open(OPENING_BALANCE);
    let entries = Arc::new(Mutex::new(Vec::new()));
    let ledger = Ledger::start(entries.clone());
    let auth = start_auth();
    let withdraw = move |account: Arc<Account>, ledger: Ledger| async move {
        match bank {
            Bank::Racy => withdraw_racy(&account, &ledger, WITHDRAWAL).await,
            Bank::Fixed => withdraw_fixed(&account, &ledger, WITHDRAWAL).await,
        }
    };
    let alice = Builder::new()
        .name("alice")
        .spawn(withdraw(account.clone(), ledger.clone()));
    let bob = Builder::new().name("bob").spawn({
        let (account, ledger) = (account.clone(), ledger.clone());
        async move {
            let (welcome, welcomed) = oneshot::channel();
            auth.send(welcome).expect("auth runs");
            welcomed.await.expect("auth answers"); // logged in
            withdraw(account, ledger).await
        }
    });
    drop(ledger);
    let results = [alice.await.expect("alice"), bob.await.expect("bob")];
    let paid: u64 = results.iter().flatten().map(|_| WITHDRAWAL).sum();
    let left = account.balance();
    let written: u64 = entries.lock().unwrap().iter().sum();
    if paid + left != OPENING_BALANCE || written != paid {
        return Err(format!(
            "paid out {paid}, {left} left, ledger says {written}: the bank made {} out of nothing",
            (paid + left).saturating_sub(OPENING_BALANCE)
        ));
    }
    Ok(())
}
// ANCHOR_END: two_customers

/// Seeds until the race is found, for `explorations` explorations that each
/// start from a different seed.
pub fn seeds_until_found(explorations: u64) -> Vec<u64> {
    (0..explorations)
        .map(|k| {
            let failure = Explore::new(10_000)
                .first_seed(k * 1_000_000)
                .run(|_| two_customers(Bank::Racy))
                .expect_err("the race is there to be found");
            failure.seeds_tried
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--measure") {
        let mut found = seeds_until_found(100);
        found.sort_unstable();
        let mean = found.iter().sum::<u64>() as f64 / found.len() as f64;
        println!(
            "seeds until the race is found, 100 explorations: min {}, median {}, mean {mean:.2}, max {}",
            found[0],
            found[found.len() / 2],
            found[found.len() - 1]
        );
        for n in 1..=found[found.len() - 1] {
            let count = found.iter().filter(|&&f| f == n).count();
            println!("  {n:>2} seed(s): {count:>3} {}", "#".repeat(count));
        }
        return;
    }
    // 1. FIFO, the order every unseeded run takes: it passes.
    let rt = evloop::Runtime::builder()
        .start_paused(true)
        .build()
        .expect("a runtime");
    println!("FIFO order:   {:?}", rt.block_on(two_customers(Bank::Racy)));
    // 2. Exploring: the first seed whose order breaks it.
    let failure = Explore::new(1_000)
        .name("find_the_race")
        .run(|_| two_customers(Bank::Racy))
        .expect_err("some order breaks the racy bank");
    println!(
        "exploring:    seed {} fails after {} seed(s): {}",
        failure.seed, failure.seeds_tried, failure.kind
    );
    println!(
        "replay with:  EVLOOP_SEED={} cargo test find_the_race",
        failure.seed
    );
    if args.iter().any(|a| a == "--trace") {
        print!("{}", failure.timeline);
    }
    // 3. The fix, under 10,000 seeds.
    let start = std::time::Instant::now();
    let seeds = Explore::new(10_000)
        .run(|_| two_customers(Bank::Fixed))
        .expect("the fixed bank holds under every order");
    println!(
        "fixed:        {seeds} seeds pass ({:.2} s)",
        start.elapsed().as_secs_f64()
    );
}
