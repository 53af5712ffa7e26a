"""sparseland.dask on 1 and 2 workers of a LocalCluster (one thread each), alternating rounds:
coding throughput, online dictionary learning per round, and the traffic of a round.

Run by `cargo xtask bench dask` (release wheel in target/pyenv); prints a Markdown report.
Environment: ROUNDS (default 3), N (signals coded, default 200000), N_LEARN (signals per
learning pass, default 131072), BATCH (mini-batch of a round, default 16384).
"""

import os
import time

import numpy as np
import dask.array as da
import distributed

import sparseland
import sparseland.dask as sd

ROUNDS = int(os.environ.get("ROUNDS", 3))
N = int(os.environ.get("N", 200_000))
N_LEARN = int(os.environ.get("N_LEARN", 131_072))
BATCH = int(os.environ.get("BATCH", 16_384))
N_FEATURES, N_ATOMS, K = 64, 256, 8


def worker_cpu(client):
    return sum(client.run(time.process_time).values())


def worker_sent(client):
    return sum(client.run(lambda dask_worker: dask_worker.transfer_outgoing_bytes_total).values())


def timed(client, fn):
    c0, w0 = worker_cpu(client), time.perf_counter()
    out = fn()
    return time.perf_counter() - w0, worker_cpu(client) - c0, out


def main():
    rng = np.random.default_rng(0)
    D = rng.standard_normal((N_ATOMS, N_FEATURES))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    codes = np.zeros((N, N_ATOMS))
    for i in range(N):
        codes[i, rng.choice(N_ATOMS, K, replace=False)] = rng.standard_normal(K)
    X = codes @ D + 0.01 * rng.standard_normal((N, N_FEATURES))

    clusters = {}
    for w in (1, 2):
        cluster = distributed.LocalCluster(
            n_workers=w, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
        )
        client = distributed.Client(cluster, set_as_default=False)
        # The data lives on the workers before the clock starts (as after a persist).
        with client.as_current():
            dX = client.persist(da.from_array(X, chunks=(N // 8, N_FEATURES)))
            distributed.wait(dX)
            dL = client.persist(da.from_array(X[:N_LEARN], chunks=(N_LEARN // 4, N_FEATURES)))
            distributed.wait(dL)
        clusters[w] = (cluster, client, dX, dL)

    coder = sparseland.SparseCoder(D, transform_algorithm="batch_omp", transform_n_nonzero_coefs=K, n_jobs=1)
    code = {1: [], 2: []}
    learn = {1: [], 2: []}
    traffic = {}
    local = []
    for r in range(ROUNDS):
        t0 = time.perf_counter()
        coder.transform(X[: N // 8])
        local.append((time.perf_counter() - t0) * 8)
        for w, (_cluster, client, dX, dL) in clusters.items():
            def run_coding():
                with client.as_current():
                    c = client.persist(sd.transform(coder, dX, sparse=True))
                    distributed.wait(c)
                    client.cancel(c)

            wall, cpu, _ = timed(client, run_coding)
            code[w].append((wall, cpu))
            sent0 = worker_sent(client)
            learner = sd.OnlineDictionaryLearning(
                N_ATOMS, n_nonzero_coefs=K, batch_size=BATCH, random_state=0, client=client
            )
            wall, cpu, _ = timed(client, lambda: learner.fit(dL))
            rounds = learner.n_steps_
            learn[w].append((wall / rounds, cpu / rounds))
            traffic[w] = (worker_sent(client) - sent0) / rounds
            final = learner.components_
        if r == 0:
            # One pass of the single-process learner on the same mini-batches (the reference).
            ref = sparseland.DictionaryLearning(N_ATOMS, algorithm="online", n_nonzero_coefs=K, random_state=0, n_jobs=1)
            t0 = time.perf_counter()
            for pieces in learner.round_plan(dL, 0):
                parts = np.split(X[:N_LEARN], 4)
                ref.partial_fit(np.concatenate([parts[p][a:b] for p, a, b in pieces]))
            local_learn = (time.perf_counter() - t0) / learner.n_steps_
            agreement = np.abs(final - ref.components_).max()

    def best(rows):
        return min(rows, key=lambda x: x[0])

    print(f"# sparseland.dask: 1 vs 2 workers (LocalCluster, 1 thread each), {ROUNDS} alternating rounds\n")
    print(f"Batch-OMP coding of {N} signals ({N_FEATURES} features, {N_ATOMS} atoms, k = {K}), 8 partitions,")
    print("data persisted on the workers, codes kept there as scipy.sparse chunks (not gathered; dense")
    print("chunks would add the page faults of 410 MB of fresh memory per pass, which Dask's")
    print("MALLOC_TRIM_THRESHOLD_ returns to the system after each). Best round; CPU = all workers.\n")
    print("| workers | wall s | worker CPU s | signals/s | speed-up (wall) |")
    print("| --- | --- | --- | --- | --- |")
    w1 = best(code[1])[0]
    print(f"| in-process, 1 thread | {min(local):.3f} | | {N / min(local):,.0f} | |")
    for w in (1, 2):
        wall, cpu = best(code[w])
        print(f"| {w} | {wall:.3f} | {cpu:.3f} | {N / wall:,.0f} | {w1 / wall:.2f}x |")
    m, n = N_ATOMS, N_FEATURES
    print(f"\nOnline dictionary learning: one pass over {N_LEARN} signals in mini-batches of {BATCH}")
    print(f"({learner.n_steps_} rounds, 4 partitions); time per round, best round.\n")
    print("| workers | wall s / round | worker CPU s / round | speed-up (wall) |")
    print("| --- | --- | --- | --- |")
    l1 = best(learn[1])[0]
    print(f"| in-process partial_fit, 1 thread | {local_learn:.3f} | | |")
    for w in (1, 2):
        wall, cpu = best(learn[w])
        print(f"| {w} | {wall:.3f} | {cpu:.3f} | {l1 / wall:.2f}x |")
    print(f"\nDistributed and in-process dictionaries agree to {agreement:.1e} (max abs).\n")
    stats = (m * m + n * m) * 8
    print("Traffic of a round (bytes):\n")
    print("| what | bytes |")
    print("| --- | --- |")
    print(f"| data coded in a round ({BATCH} x {n} float64), stays on the workers | {BATCH * n * 8:,} |")
    print(f"| statistics A + B of one partition ({m}x{m} + {n}x{m}) | {stats:,} |")
    print(f"| dictionary broadcast, per worker | {m * n * 8:,} |")
    print(f"| measured worker-to-worker transfers per round, 2 workers | {traffic[2]:,.0f} |")
    print(f"\nThe statistics do not grow with the data: a partition of any size sends {stats:,} bytes")
    print("per round, and the tree reduction sends one such sum to the client.")
    for cluster, client, _dX, _dL in clusters.values():
        client.close()
        cluster.close()


if __name__ == "__main__":
    main()
