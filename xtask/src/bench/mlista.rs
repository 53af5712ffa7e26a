//! `cargo xtask bench mlista`: training speed of the unfolded networks of Sulam, Aberdam, Beck
//! & Elad (2019) in the authors' MNIST setting (32 filters 6x6 stride 2, 64 filters 6x6x32
//! stride 2, 512 filters 4x4x64, a linear classifier; the CNN, and ML-ISTA / ML-FISTA with
//! T = 6 unfoldings, i.e. K = 7 passes), against the same models in PyTorch (CPU, float32)
//! when `$SPARSE_PYTHON` imports torch, skipped otherwise.
//!
//! Both train on the same real MNIST batches of 128 with SGD (momentum 0.9, weight decay
//! 1e-5, the authors' recipe), float32. Rounds alternate ours and the peer's; each round times
//! `--batches N` (default 8) training steps per model after a warm-up step and reports the best
//! round's seconds per batch: wall time, and CPU time of the process (all threads) next to it.
//! Runs with 2 threads and with 1 (`--threads 2`, `--threads 1`, or both by default).
//!
//! Options: `--batches N`, `--rounds N`, `--threads 1|2`, `--models cnn,mlista,mlfista`,
//! `--no-peer`.

use std::time::Instant;

use mlcsc::supervised::{
    Init, LayerSpec, Optimizer, Precision, Schedule, SupervisedTraining, TrainState, UnfoldedNet,
    Unfolding,
};

use super::{
    load_average, markdown, out_dir, process_cpu_secs, python_with, run_python, workspace_root,
    Best, BoxResult,
};

/// The authors' layers (`MNIST/Models.py`: m1 = 32, m2 = 64, m3 = 512).
pub fn authors_specs() -> [LayerSpec; 3] {
    [
        LayerSpec::Conv {
            maps: 32,
            kernel: (6, 6),
            stride: 2,
        },
        LayerSpec::Conv {
            maps: 64,
            kernel: (6, 6),
            stride: 2,
        },
        LayerSpec::Conv {
            maps: 512,
            kernel: (4, 4),
            stride: 1,
        },
    ]
}

/// A model of the experiment: name, unfolding, passes `K` (`T + 1`).
pub const MODELS: [(&str, Unfolding, usize); 3] = [
    ("cnn", Unfolding::Ista, 1),
    ("mlista", Unfolding::Ista, 7),
    ("mlfista", Unfolding::Fista, 7),
];

/// The authors' network for a model, initialised as their code does, seeded.
pub fn authors_net(kind: Unfolding, k: usize, seed: u64) -> BoxResult<UnfoldedNet> {
    Ok(
        UnfoldedNet::convolutional((1, 28, 28), &authors_specs(), 10, k, kind, seed)?
            .initialised(Init::FanIn { scale: 0.1 }, seed)?,
    )
}

/// The authors' training recipe (SGD, lr 0.002, momentum 0.9, weight decay 1e-5, x0.2 every
/// `every` epochs, batch 128), float32.
pub fn authors_recipe(every: usize, seed: u64) -> SupervisedTraining {
    SupervisedTraining::default()
        .batch_size(128)
        .learning_rate(0.002)
        .optimizer(Optimizer::Sgd {
            momentum: 0.9,
            weight_decay: 1e-5,
        })
        .schedule(Schedule::Step { every, gamma: 0.2 })
        .precision(Precision::F32)
        .seed(seed)
}

/// The unfolded network's forward pass in PyTorch, shared by [`PEER`] and [`AGREE`].
const UNFOLDED: &str = r#"
import numpy as np
import torch.nn.functional as F
def unfolded(x, W1, W2, W3, c, b1, b2, b3, T, fista):
    # The deepest code of the unfolded ML-ISTA / ML-FISTA network of Sulam et al. 2019
    # (T unfoldings; T = 0: the CNN's forward pass).
    g1 = F.relu(c[0] * F.conv2d(x, W1, stride=2) + b1)
    g2 = F.relu(c[1] * F.conv2d(g1, W2, stride=2) + b2)
    g3 = F.relu(c[2] * F.conv2d(g2, W3, stride=1) + b3)
    t, g3_prev = 1.0, g3
    for _ in range(T):
        if fista:
            t_prev = t
            t = (1 + np.sqrt(1 + 4 * t_prev ** 2)) / 2
            z = g3 + (t_prev - 1) / t * (g3 - g3_prev)
            g3_prev = g3
        else:
            z = g3
        g2 = F.conv_transpose2d(z, W3, stride=1)
        g1 = F.conv_transpose2d(g2, W2, stride=2)
        g1 = F.relu(g1 - c[0] * F.conv2d(F.conv_transpose2d(g1, W1, stride=2) - x, W1, stride=2) + b1)
        g2 = F.relu(g2 - c[1] * F.conv2d(F.conv_transpose2d(g2, W2, stride=2) - g1, W2, stride=2) + b2)
        g3 = F.relu(z - c[2] * F.conv2d(F.conv_transpose2d(z, W3, stride=1) - g2, W3, stride=1) + b3)
    return g3
"#;

const PEER: &str = r#"
import time, gzip, os, sys
import numpy as np
import torch
import torch.nn.functional as F
torch.set_num_threads(THREADS)
torch.manual_seed(0)
with gzip.open(IMAGES, 'rb') as f:
    raw = np.frombuffer(f.read(), dtype=np.uint8, offset=16)
with gzip.open(LABELS, 'rb') as f:
    lab = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
n = BATCH * (BATCHES + 1)
x_all = torch.tensor(raw[: n * 784].reshape(n, 1, 28, 28).astype(np.float32) / 255.0)
y_all = torch.tensor(lab[:n].astype(np.int64))

class Net(torch.nn.Module):
    # The unfolded ML-ISTA / ML-FISTA network of Sulam et al. 2019 (T unfoldings; T = 0: CNN).
    def __init__(self, T, fista):
        super().__init__()
        self.T, self.fista = T, fista
        self.W1 = torch.nn.Parameter(0.1 / 6.0 * torch.randn(32, 1, 6, 6))
        self.W2 = torch.nn.Parameter(0.1 / np.sqrt(32 * 36) * torch.randn(64, 32, 6, 6))
        self.W3 = torch.nn.Parameter(0.1 / np.sqrt(64 * 16) * torch.randn(512, 64, 4, 4))
        self.c = torch.nn.Parameter(torch.ones(3))
        self.b1 = torch.nn.Parameter(torch.zeros(1, 32, 1, 1))
        self.b2 = torch.nn.Parameter(torch.zeros(1, 64, 1, 1))
        self.b3 = torch.nn.Parameter(torch.zeros(1, 512, 1, 1))
        self.cls = torch.nn.Linear(512, 10)
    def forward(self, x):
        g3 = unfolded(x, self.W1, self.W2, self.W3, self.c, self.b1, self.b2, self.b3,
                      self.T, self.fista)
        return F.log_softmax(self.cls(g3.view(g3.shape[0], -1)), dim=1)

for name, T, fista in MODELS:
    net = Net(T, fista)
    opt = torch.optim.SGD(net.parameters(), lr=0.002, momentum=0.9, weight_decay=1e-5)
    def step(i):
        xb, yb = x_all[i * BATCH:(i + 1) * BATCH], y_all[i * BATCH:(i + 1) * BATCH]
        opt.zero_grad()
        loss = F.nll_loss(net(xb), yb)
        loss.backward()
        opt.step()
    step(BATCHES)
    c0, t0 = time.process_time(), time.perf_counter()
    for i in range(BATCHES):
        step(i)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"wall_{name} {wall / BATCHES}", flush=True)
    print(f"cpu_{name} {cpu / BATCHES}", flush=True)
"#;

/// The peer's forward pass in float64 on our parameters (written as `.npy` by
/// [`write_agreement`]): the largest logit difference per model.
const AGREE: &str = r#"
import numpy as np, torch, torch.nn.functional as F
torch.set_default_dtype(torch.float64)
X = np.load('agree_x.npy')
n = X.shape[1]
x = torch.tensor(X.T.reshape(n, 28, 28).transpose(0, 2, 1).copy()).unsqueeze(1)
def filt(path, ch, k):
    f = np.load(path)
    m = f.shape[1]
    return torch.tensor(f.T.reshape(m, ch, k, k).transpose(0, 1, 3, 2).copy())
def vec(path):
    return torch.tensor(np.load(path)[:, 0].copy())
for name, T, fista in MODELS:
    W1, W2, W3 = filt(name + '_f1.npy', 1, 6), filt(name + '_f2.npy', 32, 6), filt(name + '_f3.npy', 64, 4)
    c = vec(name + '_c.npy')
    b1, b2, b3 = [vec(name + f'_b{i}.npy').view(1, -1, 1, 1) for i in (1, 2, 3)]
    Wc, bc = torch.tensor(np.load(name + '_w.npy')), vec(name + '_w0.npy')
    with torch.no_grad():
        g3 = unfolded(x, W1, W2, W3, c, b1, b2, b3, T, fista)
        logits = g3.view(n, -1) @ Wc.T + bc
    ours = torch.tensor(np.load(name + '_logits.npy')).T
    print(f"maxdiff_{name} {(logits - ours).abs().max().item()}")
    print(f"scale_{name} {ours.abs().max().item()}")
"#;

/// Writes `net`'s parameters, `x` and our float64 logits for the agreement check.
fn write_agreement(
    dir: &std::path::Path,
    name: &str,
    net: &UnfoldedNet,
    x: faer::MatRef<'_, f64>,
) -> BoxResult<()> {
    use sparse_core::io::write_npy;
    let col = |v: &[f64]| faer::Mat::<f64>::from_fn(v.len(), 1, |i, _| v[i]);
    for i in 1..=3 {
        write_npy(dir.join(format!("{name}_f{i}.npy")), net.dictionary(i)?)?;
        write_npy(
            dir.join(format!("{name}_b{i}.npy")),
            col(net.bias(i)?).as_ref(),
        )?;
    }
    let c: Vec<f64> = (1..=3).map(|i| net.step(i)).collect::<Result<_, _>>()?;
    write_npy(dir.join(format!("{name}_c.npy")), col(&c).as_ref())?;
    let (w, w0) = net.classifier();
    write_npy(dir.join(format!("{name}_w.npy")), w)?;
    write_npy(dir.join(format!("{name}_w0.npy")), col(w0).as_ref())?;
    write_npy(
        dir.join(format!("{name}_logits.npy")),
        net.logits(x)?.as_ref(),
    )?;
    Ok(())
}

fn write_npy_x(dir: &std::path::Path, x: faer::MatRef<'_, f64>) -> BoxResult<()> {
    sparse_core::io::write_npy(dir.join("agree_x.npy"), x)?;
    Ok(())
}

pub fn run(args: &[String]) -> BoxResult<()> {
    let (mut batches, mut rounds, mut peer) = (8usize, 3usize, true);
    let mut threads: Vec<usize> = vec![2, 1];
    let mut models: Vec<&str> = MODELS.iter().map(|m| m.0).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("option `{name}` needs a value"))
        };
        match a.as_str() {
            "--batches" => batches = val("--batches")?.parse()?,
            "--rounds" => rounds = val("--rounds")?.parse()?,
            "--threads" => threads = vec![val("--threads")?.parse()?],
            "--models" => {
                let v = val("--models")?;
                models = MODELS
                    .iter()
                    .map(|m| m.0)
                    .filter(|m| v.split(',').any(|s| s == *m))
                    .collect();
                if models.is_empty() {
                    return Err(format!("`--models {v}`: none of cnn, mlista, mlfista").into());
                }
            }
            "--no-peer" => peer = false,
            other => return Err(format!("unknown option `{other}` for `bench mlista`").into()),
        }
    }
    if batches == 0 || rounds == 0 || threads.iter().any(|&t| t == 0 || t > 64) {
        return Err("`--batches`, `--rounds` must be positive, `--threads` in 1..=64".into());
    }
    let dir = out_dir("mlista")?;
    let (train, _) = crate::reproduce::mnist_full()?;
    let n = 128 * (batches + 1);
    let idx: Vec<usize> = (0..n).collect();
    let data = train.select(&idx)?;
    let py = if peer {
        python_with(&["numpy", "torch"])
    } else {
        None
    };
    if peer && py.is_none() {
        eprintln!("bench mlista: no torch in $SPARSE_PYTHON (or python3): ours only");
    }
    let assets = workspace_root().join("assets");
    // Agreement: the peer's float64 forward pass on our parameters (ISTA initialisation: unit
    // filters, c_i = 1 / ||D_i||^2, so that every layer is active) and 64 digits.
    let mut agreement = String::new();
    if let Some(py) = &py {
        let few = data.select(&(0..64).collect::<Vec<_>>())?;
        write_npy_x(&dir, few.images.as_ref())?;
        let mut list = Vec::new();
        for name in &models {
            let &(_, kind, k) = MODELS.iter().find(|m| m.0 == *name).expect("known");
            let net = UnfoldedNet::convolutional((1, 28, 28), &authors_specs(), 10, k, kind, 3)?;
            write_agreement(&dir, name, &net, few.images.as_ref())?;
            let fista = if kind == Unfolding::Fista {
                "True"
            } else {
                "False"
            };
            list.push(format!("('{name}', {}, {fista})", k - 1));
        }
        let script = format!("MODELS = [{}]\n{UNFOLDED}{AGREE}", list.join(", "));
        let out = run_python(py, &dir, "peer_agree.py", &script)?;
        let get = |k: &str| out.iter().find(|(n, _)| n == k).map(|&(_, v)| v);
        for name in &models {
            if let (Some(d), Some(s)) = (
                get(&format!("maxdiff_{name}")),
                get(&format!("scale_{name}")),
            ) {
                let line = format!(
                    "- {name}: largest |logit difference| to PyTorch (float64, our parameters, 64 \
                     digits) {d:.2e}, logits up to {s:.2e}\n"
                );
                eprint!("{line}");
                agreement.push_str(&line);
            }
        }
    }
    let mut rows = Vec::new();
    for &th in &threads {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(th).build()?;
        let mut ours = vec![Best::new(); models.len()];
        let mut theirs = vec![Best::new(); models.len()];
        for round in 0..rounds {
            for (mi, name) in models.iter().enumerate() {
                let &(_, kind, k) = MODELS.iter().find(|m| m.0 == *name).expect("known");
                let net = authors_net(kind, k, 0)?;
                let recipe = authors_recipe(30, 0).par(if th > 1 {
                    faer::Par::rayon(th)
                } else {
                    faer::Par::Seq
                });
                // One epoch over the warm-up batch, then one over the timed batches.
                let warm = data.select(&(0..128).collect::<Vec<_>>())?;
                let timed = data.select(&(128..n).collect::<Vec<_>>())?;
                let (wall, cpu) = pool.install(|| -> mlcsc::Result<(f64, Option<f64>)> {
                    let mut state = TrainState::new(net);
                    recipe.epoch(&mut state, warm.images.as_ref(), &warm.labels)?;
                    let (c0, t0) = (process_cpu_secs(), Instant::now());
                    recipe.epoch(&mut state, timed.images.as_ref(), &timed.labels)?;
                    let wall = t0.elapsed().as_secs_f64();
                    Ok((wall, process_cpu_secs().zip(c0).map(|(b, a)| b - a)))
                })?;
                ours[mi].add(wall / batches as f64, cpu.map(|c| c / batches as f64));
            }
            if let Some(py) = &py {
                let list: Vec<String> = models
                    .iter()
                    .map(|m| {
                        let &(_, kind, k) = MODELS.iter().find(|x| x.0 == *m).expect("known");
                        let fista = if kind == Unfolding::Fista {
                            "True"
                        } else {
                            "False"
                        };
                        format!("('{m}', {}, {fista})", k - 1)
                    })
                    .collect();
                let script = format!(
                    "THREADS = {th}\nBATCH = 128\nBATCHES = {batches}\nMODELS = [{}]\n\
                     IMAGES = {:?}\nLABELS = {:?}\n{UNFOLDED}{PEER}",
                    list.join(", "),
                    assets
                        .join("train-images-idx3-ubyte.gz")
                        .display()
                        .to_string(),
                    assets
                        .join("train-labels-idx1-ubyte.gz")
                        .display()
                        .to_string(),
                );
                let out = run_python(py, &dir, "peer_mlista.py", &script)?;
                let get = |k: &str| out.iter().find(|(n, _)| n == k).map(|&(_, v)| v);
                for (mi, name) in models.iter().enumerate() {
                    if let Some(w) = get(&format!("wall_{name}")) {
                        theirs[mi].add(w, get(&format!("cpu_{name}")));
                    }
                }
            }
            for (mi, name) in models.iter().enumerate() {
                eprintln!(
                    "{th} thread(s), round {}/{rounds}, {name}: ours {:.4} s/batch, PyTorch {}",
                    round + 1,
                    ours[mi].wall,
                    if theirs[mi].wall.is_finite() {
                        format!("{:.4} s/batch", theirs[mi].wall)
                    } else {
                        "-".into()
                    }
                );
            }
        }
        for (mi, name) in models.iter().enumerate() {
            let (o, t) = (ours[mi], theirs[mi]);
            let ratio = |a: f64, b: f64| {
                if a.is_finite() && b.is_finite() && a > 0.0 {
                    format!("{:.2}x", b / a)
                } else {
                    "-".into()
                }
            };
            let fmt = |v: f64| {
                if v.is_finite() {
                    format!("{v:.4}")
                } else {
                    "-".into()
                }
            };
            rows.push(vec![
                name.to_string(),
                th.to_string(),
                fmt(o.wall),
                fmt(o.cpu),
                fmt(t.wall),
                fmt(t.cpu),
                ratio(o.wall, t.wall),
                ratio(o.cpu, t.cpu),
                format!("{:.0}", o.wall * 469.0),
            ]);
        }
    }
    let table = markdown(
        &[
            "model",
            "threads",
            "ours s/batch (wall)",
            "ours CPU s/batch",
            "PyTorch s/batch (wall)",
            "PyTorch CPU s/batch",
            "speed-up (wall)",
            "speed-up (CPU)",
            "ours s/epoch (469 batches)",
        ],
        &rows,
    );
    let md = format!(
        "# bench mlista: training step of the authors' MNIST networks (batch 128, float32)\n\n\
         {table}\nBest of {rounds} alternating rounds of {batches} batches; load average at the \
         end: {}\n\n{agreement}",
        load_average()
    );
    println!("{md}");
    std::fs::write(workspace_root().join("target/bench/mlista.md"), md)?;
    Ok(())
}
