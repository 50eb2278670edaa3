// The one source of truth of notebooks/tok-boy.ipynb: `npm run notebook` writes it, and a test fails when
// the committed notebook differs, uses a harness command or flag that does not exist, or carries a secret.
// tests/notebook/runtime.test.ts runs its code cells in order against a simulated Colab and Kaggle runtime.
//
// Code cells are String.raw templates (Python keeps its backslashes); they hold no backtick and no "${".

import { EXIT_CODES } from '../harness/errors.ts';

export type Cell = { type: 'markdown' | 'code'; source: string; id: string };

const md = (id: string, source: string): Cell => ({ type: 'markdown', id, source });
const code = (id: string, source: string): Cell => ({ type: 'code', id, source });

export const EXPERIMENT = 'experiments/tok-boy.yaml';

/** The exit-code table of harness/errors.ts as a Python dict, so the notebook names every code the CLI has. */
function exitCodesPython(): string {
  const entries = EXIT_CODES.filter(({ code }) => code !== 0).map(({ code, meaning }) => `    ${code}: ${JSON.stringify(meaning)},`);
  return `EXIT_CODES = {\n${entries.join('\n')}\n}\n`;
}

/** What a first-time user reads first: what it does, what each step costs, and the plan over sessions. */
const INTRO = md('intro', `# TOK boy on a free GPU with \`harness\`

Trains the character LoRA of the series (SDXL base 1.0 + fp16-fix VAE, DreamBooth + LoRA through the real
diffusers script) and its variants, samples the nine scenes on fixed seeds, scores identity consistency, and
shows a comparison report. It runs on a Colab or Kaggle GPU runtime (T4, P100, L4, A100).

**How to run it:** fill in the *Settings* cell, then *Runtime ▸ Run all*. The cells up to *Drive and secrets*
ask for everything interactive (Drive permission, secret access); after them the notebook runs unattended and
stops at the first failing command with the reason. Interrupted or disconnected? *Run all* again: finished
runs are skipped and an interrupted run resumes from its last checkpoint.

| step | time on a T4 (estimates) |
| --- | --- |
| Node.js, checkout, \`npm ci\` | 1–2 min |
| Python packages (torch 2.14 cu126 and its CUDA libraries, about 3 GB) | 3–6 min, every session |
| model snapshots (SDXL base + VAE, about 14 GB, kept on the runtime's disk, not on Drive) | 5–10 min, every session |
| the baseline run (500 steps at 512 px, then 72 fixed-seed images at 1024 px) | about 1–1½ h |
| each further run | about 1–2 h (\`long\` and \`res-1024\` more) |
| the whole sweep (12 runs) | 15–20 h: several sessions |

**Over several sessions:** a free session ends after some hours (Colab: at most 12 h, often sooner and when
idle; Kaggle: 12 h per session within a weekly GPU quota). So: the first session trains the baseline
(\`sweep --only baseline\`) and you look at its samples; each later session trains *Runs per session* more
(\`sweep --max-runs N\`). The run store lives on Google Drive (Colab) or in \`/kaggle/working\` (Kaggle), so
every session continues where the last one stopped. On Kaggle's *GPU T4 ×2* the sweep trains two runs at once
(\`--gpus 0,1\`).`);

export const CELLS: Cell[] = [
  INTRO,
  md('settings-md', `## Settings
Everything you choose is here. *HARNESS_GIT_URL* is your fork of the harness on GitHub (fork it first; the
placeholder is refused). *DATASET* is the folder of the square PNGs and \`metadata.jsonl\`: on Colab a Drive
folder (default \`MyDrive/harness/tok-boy\`), on Kaggle an attached dataset (default \`/kaggle/input/tok-boy\`).`),
  code('settings', String.raw`#@title Settings { display-mode: "form" }
#@markdown Your fork of the harness (the placeholder cannot be cloned):
HARNESS_GIT_URL = 'https://github.com/YOUR-ACCOUNT/harness.git'  #@param {type:"string"}
#@markdown The photos: square PNGs + metadata.jsonl. Empty: MyDrive/harness/tok-boy on Colab, /kaggle/input/tok-boy on Kaggle.
DATASET = ''  #@param {type:"string"}
#@markdown Caption the photos with BLIP first (only when metadata.jsonl is missing or new photos were added):
CAPTION = False  #@param {type:"boolean"}
#@markdown Runs to train in this session after the baseline (0: the baseline only):
RUNS_PER_SESSION = 2  #@param {type:"integer"}
#@markdown Make the baseline's samples the first regression goldens (tick it once you like them):
ACCEPT_GOLDENS = False  #@param {type:"boolean"}
#@markdown Delete the checkpoints of finished runs from the store (they only serve resuming; several GB):
PRUNE_CHECKPOINTS = False  #@param {type:"boolean"}
#@markdown Publish a run's LoRA to this Hugging Face model repo at the end (needs HF_TOKEN; empty: do not publish):
HUB_REPO = ''  #@param {type:"string"}
PUBLISH_VARIANT = 'baseline'  #@param {type:"string"}`),
  md('runtime-md', `## 1. This runtime (seconds)
Which platform this is (Kaggle is checked first: its image is built from Colab's and looks like Colab), and
which GPU. Every card uses \`python/requirements-cuda.txt\`: its torch 2.14.0 **cu126** build carries kernels
for the P100 (sm_60) as well as the T4 (sm_75) and newer cards (PyTorch's CUDA 13 builds start at sm_75), so
runs on different cards use one stack and stay comparable. A P100 and a T4 train in fp16 (no bf16 below
compute capability 8.0). Every command below runs through one helper that shows its output as it comes and
stops *Run all* when the command fails, with the reason.`),
  code('runtime', String.raw`import codecs, json, os, re, shlex, shutil, signal, subprocess, sys, time

# Where the platforms keep things (a test of this notebook points these at temporary folders).
COLAB_ROOT = '/content'
KAGGLE_ROOT = '/kaggle'
NODE_PREFIX = '/usr/local'
NODE_DIST = 'https://nodejs.org/dist'

# Kaggle first: its image is built from Colab's and sets COLAB_RELEASE_TAG too.
if os.environ.get('KAGGLE_KERNEL_RUN_TYPE') or os.path.isdir(KAGGLE_ROOT + '/working'):
    PLATFORM = 'kaggle'
    CHECKOUT = KAGGLE_ROOT + '/temp/harness'      # this session's disk
    KEEP = KAGGLE_ROOT + '/working'               # kept for the next session with Persistence "Files" (20 GB)
    DEFAULT_DATASET = KAGGLE_ROOT + '/input/tok-boy'
elif os.environ.get('COLAB_RELEASE_TAG'):
    PLATFORM = 'colab'
    CHECKOUT = COLAB_ROOT + '/harness'
    KEEP = COLAB_ROOT + '/drive/MyDrive/harness'  # Google Drive, mounted in the next cell
    DEFAULT_DATASET = KEEP + '/tok-boy'
else:
    PLATFORM = 'local'
    CHECKOUT = os.path.expanduser('~/harness')
    KEEP = os.path.expanduser('~/harness-files')
    DEFAULT_DATASET = KEEP + '/tok-boy'
STORE = KEEP + '/runs'

# One requirements file for every card (see above). A test runs this notebook on a CPU machine with the CPU
# stack standing in for CUDA: these two variables select experiments/demo.yaml's tiny SDXL and its packages.
REQUIREMENTS = os.environ.get('HARNESS_NOTEBOOK_REQUIREMENTS', 'python/requirements-cuda.txt')
EXPERIMENT = os.environ.get('HARNESS_NOTEBOOK_EXPERIMENT', 'experiments/tok-boy.yaml')
PYTHON = os.environ.get('HARNESS_PYTHON') or sys.executable   # pip installs into the Python the harness runs

def gpu_list():
    try:
        out = subprocess.run(['nvidia-smi', '--query-gpu=name,compute_cap,memory.total', '--format=csv,noheader'],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:
        return []
    return [[part.strip() for part in line.split(',')] for line in out.stdout.splitlines() if line.count(',') == 2]

GPUS = gpu_list()
if not GPUS:
    raise SystemExit('This runtime has no GPU. Choose a GPU runtime, then Run all again: on Colab Runtime > Change '
                     'runtime type > T4 GPU; on Kaggle Settings > Accelerator > GPU T4 x2 (or GPU P100).')
for index, (name, capability, memory) in enumerate(GPUS):
    major = int(capability.split('.')[0])
    print(f'GPU {index}: {name}, compute capability {capability}, {memory}:',
          'fp16 (no bf16)' if major < 8 else 'fp16 and bf16')
GPU_FLAG = ' --gpus ' + ','.join(str(i) for i in range(len(GPUS))) if len(GPUS) > 1 else ''  # one run per GPU
print(f'platform: {PLATFORM} · checkout: {CHECKOUT} · run store: {STORE} · Python packages: {REQUIREMENTS}')
if PLATFORM == 'kaggle':
    print('Kaggle: turn on Settings > Internet (the clone, npm, pip and the models need it) and Settings > '
          'Persistence > Files, so /kaggle/working (the run store; 20 GB) is there next session. Add the photos '
          'with Add Input; /kaggle/input is read-only.')

` +
    exitCodesPython() +
    String.raw`
def sh(command, what, ok=(0,)):
    """Runs a shell command with its output as it comes; stops Run all with the reason when it fails."""
    if PLATFORM == 'colab' and not os.path.isdir(COLAB_ROOT + '/drive/MyDrive'):
        raise SystemExit('Google Drive is not mounted (the last cell unmounts it): run the Drive and secrets cell first.')
    print('$ ' + command, flush=True)
    started = time.time()
    # GIT_TERMINAL_PROMPT=0: a wrong or private clone URL fails instead of waiting for a password nobody types
    child = subprocess.Popen(['bash', '-c', command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, env={**os.environ, 'GIT_TERMINAL_PROMPT': '0'},
                             start_new_session=True)
    decode = codecs.getincrementaldecoder('utf-8')('replace')
    try:
        for chunk in iter(lambda: child.stdout.read1(65536), b''):
            sys.stdout.write(decode.decode(chunk))
            sys.stdout.flush()
        code = child.wait()
    except KeyboardInterrupt:
        os.killpg(child.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the harness marks the run interrupted
        try:
            child.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
        raise SystemExit(f'{what}: interrupted. Run this cell again to resume; finished work is kept.')
    print(f'({what}: {time.time() - started:.0f} s)', flush=True)
    if code not in ok:
        raise SystemExit(f'{what} failed with exit code {code} ({EXIT_CODES.get(code, "see its output above")}). '
                         'Its output above says why; fix that and run this cell again.')
    return code

def harness(args, what=None, ok=(0,)):
    """The checkout's own harness, by absolute path (npx harness would offer an unrelated npm package)."""
    return sh(f'node {shlex.quote(CHECKOUT)}/bin/harness.js {args}', what or 'harness ' + args.split()[0], ok)

def harness_json(args):
    out = subprocess.run(['node', CHECKOUT + '/bin/harness.js', *shlex.split(args), '--json'],
                         capture_output=True, text=True, cwd=CHECKOUT)
    if out.returncode != 0:
        raise SystemExit(f'harness {args} --json failed with exit code {out.returncode}:\n{out.stderr[-3000:]}')
    return json.loads(out.stdout)`),
  md('storage-md', `## 2. Drive and secrets (about 30 s: Colab asks you to allow Drive)
The run store (every run's spec, logs, LoRA weights, checkpoints, samples and scores) lives on Google Drive on
Colab and in \`/kaggle/working\` on Kaggle, so the next session continues. **Drive's quota:** the full store with
checkpoints is several GB (a free Google account has 15 GB for Drive, Gmail and Photos together); *Delete the
checkpoints of finished runs* in the Settings frees most of it. **Drive syncs late:** the last cell flushes it;
run it (or *Run all*) before you close the session.

Secrets come from Colab's *Secrets* panel (the key icon, with *Notebook access* on) or Kaggle's *Add-ons ▸
Secrets*; they go into the environment and are never printed. \`WANDB_API_KEY\`: live W&B dashboards (without it
runs are recorded offline and \`harness sync\` uploads them later). \`HF_TOKEN\`: publishing to the Hub (a write
token); a missing token is said here, before hours of training, when *HUB_REPO* asks for publishing.`),
  code('storage', String.raw`if PLATFORM == 'colab':
    from google.colab import drive
    drive.mount(COLAB_ROOT + '/drive')
os.makedirs(STORE, exist_ok=True)
os.environ['HARNESS_STORE'] = STORE
print('run store:', STORE)

def secret(name):
    """The platform's secret store, chosen as the platform is: on Kaggle, Colab's would wait and fail."""
    try:
        if PLATFORM == 'kaggle':
            from kaggle_secrets import UserSecretsClient
            return UserSecretsClient().get_secret(name)
        if PLATFORM == 'colab':
            from google.colab import userdata
            return userdata.get(name)
    except Exception:
        return None
    return None

for name in ('WANDB_API_KEY', 'HF_TOKEN'):
    found = secret(name) or os.environ.get(name)
    if found:
        os.environ[name] = found
print('WANDB_API_KEY:', 'set' if os.environ.get('WANDB_API_KEY') else
      'not set: runs are recorded offline; harness sync uploads them later')
print('HF_TOKEN:', 'set' if os.environ.get('HF_TOKEN') else
      'not set: the models download without it; publishing needs it')
if HUB_REPO and not os.environ.get('HF_TOKEN'):
    raise SystemExit(f'HUB_REPO is {HUB_REPO!r}, but HF_TOKEN is not set. Add HF_TOKEN (a write token from '
                     'huggingface.co/settings/tokens) to the secrets, or empty HUB_REPO, and run this cell again.')
print('From here on the notebook runs unattended.')`),
  md('node-md', `## 3. Node.js (seconds; about 30 s when it installs)
The harness is TypeScript on Node.js, and Colab's image has no maintained Node. This installs the current
Node 24 LTS from nodejs.org (checked against its SHASUMS256.txt) unless the runtime has Node ≥ 22.11, the first
LTS release of Node 22 (Node 20 reached end of life on 2026-04-30). Versions compare as (major, minor).`),
  code('node', String.raw`import hashlib, platform, tempfile, urllib.error, urllib.request

NODE_MIN = (22, 11)
if not os.environ['PATH'].startswith(NODE_PREFIX + '/bin:'):
    os.environ['PATH'] = NODE_PREFIX + '/bin:' + os.environ['PATH']

def node_version(text=None):
    """(major, minor) of node --version (or of text), None when there is no Node."""
    if text is None:
        try:
            text = subprocess.run(['node', '--version'], capture_output=True, text=True, timeout=60).stdout
        except (OSError, subprocess.TimeoutExpired):
            return None
    match = re.match(r'v(\d+)\.(\d+)\.', text.strip())
    return (int(match[1]), int(match[2])) if match else None

def install_node(line='latest-v24.x'):
    arch = {'x86_64': 'x64', 'aarch64': 'arm64'}[platform.machine()]
    sums = urllib.request.urlopen(f'{NODE_DIST}/{line}/SHASUMS256.txt', timeout=60).read().decode()
    digest, name = next((d, n) for d, n in (row.split() for row in sums.splitlines() if row.strip())
                        if n.endswith(f'-linux-{arch}.tar.xz'))
    archive = os.path.join(tempfile.mkdtemp(), name)
    print(f'downloading {NODE_DIST}/{line}/{name}', flush=True)
    urllib.request.urlretrieve(f'{NODE_DIST}/{line}/{name}', archive)
    with open(archive, 'rb') as handle:
        if hashlib.sha256(handle.read()).hexdigest() != digest:
            raise SystemExit(f'{name} does not match its sha256 in SHASUMS256.txt: run this cell again')
    os.makedirs(NODE_PREFIX, exist_ok=True)
    sh(f'tar -xJf {shlex.quote(archive)} -C {shlex.quote(NODE_PREFIX)} --strip-components=1', 'unpacking Node.js')

found = node_version()
if found is None or found < NODE_MIN:
    print('Node.js ' + ('missing' if found is None else '%d.%d is below %d.%d' % (found + NODE_MIN)) + ': installing Node 24 LTS')
    try:
        install_node()
    except urllib.error.URLError as error:
        raise SystemExit(f'Cannot download Node.js from {NODE_DIST} ({error.reason}). On Kaggle: Settings > Internet on.')
    found = node_version()
    if found is None or found < NODE_MIN:
        raise SystemExit(f'node --version still says {found} after installing into {NODE_PREFIX}')
print('Node.js %d.%d' % found)`),
  md('checkout-md', `## 4. The harness (1–2 min)
Clones your fork into \`/content/harness\` (Kaggle: \`/kaggle/temp/harness\`) once per session and installs it
(\`npm ci\`). Every path is absolute and the harness is always the checkout's own \`bin/harness.js\`, so running a
cell again, or after a kernel restart, never lands in \`harness/harness\` (and never runs \`npx harness\`, which
would fetch an unrelated npm package of that name).`),
  code('checkout', String.raw`if not HARNESS_GIT_URL.strip() or 'YOUR-ACCOUNT' in HARNESS_GIT_URL:
    raise SystemExit('HARNESS_GIT_URL is still the placeholder: fork the harness on GitHub, put your fork\'s URL '
                     '(https://github.com/<you>/harness.git) in the Settings cell, run it, then run this cell again.')
if PLATFORM == 'kaggle' and HARNESS_GIT_URL.startswith('https://'):
    import socket
    try:
        socket.getaddrinfo(HARNESS_GIT_URL.split('/')[2], 443)
    except OSError:
        raise SystemExit('No Internet on this Kaggle session: Settings > Internet on, then Run all again.')
if not os.path.isdir(CHECKOUT + '/.git'):
    shutil.rmtree(CHECKOUT, ignore_errors=True)  # a clone that was cut off
    os.makedirs(os.path.dirname(CHECKOUT), exist_ok=True)
    sh(f'git clone --depth 1 {shlex.quote(HARNESS_GIT_URL)} {shlex.quote(CHECKOUT)}', 'git clone')
os.chdir(CHECKOUT)
sh('git log -1 --format="checkout: %h %s" && git remote get-url origin', 'git log')
if not os.path.isfile(CHECKOUT + '/node_modules/.package-lock.json'):
    sh('npm ci --no-audit --no-fund', 'npm ci')
harness('--version')`),
  md('python-md', `## 5. Python packages for the GPU (3–6 min, with pip's progress)
The pinned versions the harness is tested with; torch from the CUDA 12.6 builds (every card, see above).
\`harness doctor\` then checks torch against the GPU (kernels for its architecture, bf16, 8-bit Adam).`),
  code('python', String.raw`sh(f'{shlex.quote(PYTHON)} -m pip install -r {REQUIREMENTS}', 'pip install')
os.environ['HARNESS_PYTHON'] = PYTHON
# On the CPU stand-in (tests) doctor rightly says that torch sees no CUDA GPU; the sweep trains on the CPU there.
harness(f'doctor {EXPERIMENT}')`),
  md('dataset-md', `## 6. The dataset (seconds; captioning about 1 min)
The experiment reads its photos from \`dataset.dir\`, relative to the experiment file: \`data/tok-boy\` in the
checkout. This links that folder to *DATASET* (replacing a link left from an earlier session) and checks what
will train with \`harness dataset check --experiment\`. On Kaggle \`/kaggle/input\` is read-only, so captioning
works on a copy in \`/kaggle/working/data\` (kept for the next session).`),
  code('dataset', String.raw`PLAN = harness_json(f'plan {EXPERIMENT}')
NAME = PLAN['experiment']
TARGET = PLAN['dataset']['dir']                          # where training reads the photos
SOURCE = os.path.abspath(DATASET or DEFAULT_DATASET)
COPY = KEEP + '/data/' + os.path.basename(TARGET)       # a writable copy, kept with the run store
if os.path.isdir(TARGET) and not os.path.islink(TARGET):
    print('the checkout has the photos itself:', TARGET)
else:
    if os.path.isdir(COPY):
        use = COPY  # made in an earlier session, with its captions (delete it to start from DATASET again)
    elif not os.path.isdir(SOURCE):
        raise SystemExit(f'No photos at {SOURCE}: put the square PNGs and metadata.jsonl there (on Kaggle: Add Input), '
                         'or set DATASET in the Settings cell, then run the Settings cell and this cell again.')
    elif CAPTION and (SOURCE.startswith(KAGGLE_ROOT + '/input/') or not os.access(SOURCE, os.W_OK)):
        shutil.copytree(SOURCE, COPY)  # captioning writes metadata.jsonl; the source is read-only
        use = COPY
    else:
        use = SOURCE
    if os.path.lexists(TARGET):
        os.remove(TARGET)  # a link from an earlier session may point elsewhere
    os.makedirs(os.path.dirname(TARGET), exist_ok=True)
    os.symlink(use, TARGET)
    print(f'{TARGET} -> {use}')
if CAPTION:
    harness(f'caption --experiment {EXPERIMENT}')
harness(f'dataset check --experiment {EXPERIMENT}')`),
  md('setup-md', `## 7. Set up (5–10 min: the model snapshots)
The training script at the pinned diffusers commit (sha256-checked) and the base model and VAE at the commits
pinned in the experiment file (\`harness pin … --update\` moves them deliberately, changing every run id),
downloaded with progress into the runtime's Hugging Face cache.`),
  code('setup', String.raw`harness(f'setup {EXPERIMENT}')`),
  md('baseline-md', `## 8. The baseline first (about 1–1½ h on a T4)
One run, then its samples and scores: look at them in the report before training the variants. Already done
in an earlier session? It is skipped at once.`),
  code('baseline', String.raw`harness(f'sweep {EXPERIMENT} --variant baseline' + GPU_FLAG)`),
  md('more-runs-md', `## 9. More runs this session (about 1–2 h each)
\`--max-runs N\` takes the first N runs of the plan and skips the finished ones, so N is counted here from
\`harness status\`: *Runs per session* runs that are not done yet. A run that fails is recorded and the sweep
goes on; the report says why.`),
  code('more-runs', String.raw`STATUS = harness_json(f'status {EXPERIMENT}')
planned = [run for run in STATUS['runs'] if run['planned']]
todo = [index for index, run in enumerate(planned) if run['state'] != 'done']
if RUNS_PER_SESSION <= 0 or not todo:
    print(f'{len(todo)} of {len(planned)} runs not done yet; none more this session (Runs per session: {RUNS_PER_SESSION})')
else:
    chosen = todo[:RUNS_PER_SESSION]
    print('this session:', ', '.join(planned[i]['variant'] for i in chosen), f'({len(todo)} of {len(planned)} runs not done yet)')
    if harness(f'sweep {EXPERIMENT} --max-runs {chosen[-1] + 1}' + GPU_FLAG, ok=(0, 1)) == 1:
        print('Some runs failed: the report below names them and why. Run this cell again to retry them.')`),
  md('report-md', `## 10. The report (seconds)
Rebuilt from the run store (\`harness report\`) and shown as GitHub shows it: the table of runs, the charts
(SVG), a contact sheet per scene (rows are runs, columns seeds) and the nine-scene series of every run, each
image read from its file beside \`report.md\`.`),
  code('report', String.raw`REPORT = harness_json(f'report {EXPERIMENT}')['reportPath']  # beside the store (reports/ next to runs/)
from IPython.display import SVG, Image, Markdown, display

IMAGE = re.compile(r'\[!\[[^\]]*\]\(([^)\s]+)\)\]\([^)\s]*\)|!\[[^\]]*\]\(([^)\s]+)\)')
LOCAL_LINK = re.compile(r'\[([^\]]+)\]\((?![a-z]+:|#)[^)\s]+\)')  # links to files beside the report: their text

def png_width(file):
    with open(file, 'rb') as handle:
        return int.from_bytes(handle.read(24)[16:20], 'big')

def show_report(path):
    folder, text, at = os.path.dirname(path), open(path, encoding='utf-8').read(), 0
    for match in IMAGE.finditer(text):
        if text[at:match.start()].strip():
            display(Markdown(LOCAL_LINK.sub(r'\1', text[at:match.start()])))
        file = os.path.join(folder, match[1] or match[2])
        display(SVG(filename=file) if file.endswith('.svg') else Image(filename=file, width=min(png_width(file), 1200)))
        at = match.end()
    if text[at:].strip():
        display(Markdown(LOCAL_LINK.sub(r'\1', text[at:])))

show_report(REPORT)`),
  md('check-md', `## 11. Regression check (about 1 min)
\`harness check\` compares the baseline's fixed-seed samples with accepted *goldens* (exit 1 on a regression).
There are none at first: they come from \`harness check --accept\`, which this cell runs once *Make the
baseline's samples the first regression goldens* is ticked. The goldens are kept beside the run store and
copied into the checkout each session; commit \`experiments/goldens/\` to your fork to share them.`),
  code('check', String.raw`GOLDENS = f'{CHECKOUT}/experiments/goldens/{NAME}'
KEPT_GOLDENS = f'{KEEP}/goldens/{NAME}'
if not os.path.isdir(GOLDENS) and os.path.isdir(KEPT_GOLDENS):
    shutil.copytree(KEPT_GOLDENS, GOLDENS)  # accepted in an earlier session
if os.path.isdir(GOLDENS):
    if ACCEPT_GOLDENS:
        print('Goldens exist already; ACCEPT_GOLDENS only makes the first ones. To replace them, run '
              f'harness check {EXPERIMENT} --accept in a terminal of this runtime.')
    harness(f'check {EXPERIMENT}', 'regression check')
elif ACCEPT_GOLDENS:
    harness(f'check {EXPERIMENT} --accept', 'accepting goldens')
    shutil.copytree(GOLDENS, KEPT_GOLDENS, dirs_exist_ok=True)
    print(f'goldens accepted and kept in {KEPT_GOLDENS}; from the next run of this cell on, harness check compares against them')
else:
    print('No goldens yet, so there is nothing to check against. Goldens are accepted samples: look at the '
          'baseline in the report above, and when you like its samples tick ACCEPT_GOLDENS in the Settings, run '
          'the Settings cell and this cell (it runs harness check --accept). Later sessions then check against them.')`),
  md('publish-md', `## 12. Publish (about 1 min)
\`harness push\` uploads a run's LoRA with a model card, its samples and the report to a private Hugging Face
model repo, when *HUB_REPO* is set.`),
  code('publish', String.raw`if HUB_REPO:
    harness(f'push {EXPERIMENT} --variant {PUBLISH_VARIANT} --repo {shlex.quote(HUB_REPO)} --private')
else:
    print('HUB_REPO is empty: nothing is published.')`),
  md('end-md', `## 13. Before the session ends (seconds to minutes)
There is no prune command: with *Delete the checkpoints of finished runs* ticked, this removes the
\`output/checkpoint-*\` folders of runs whose status is \`done\` (their LoRA weights, samples and scores stay; only
resuming needed them). By hand: \`rm -r <store>/tok-boy/<run>/output/checkpoint-*\` for a finished run. Then it
flushes Google Drive: writes reach Drive with a delay, and a session closed before they do loses them.`),
  code('end', String.raw`def folder_bytes(folder):
    return sum(os.path.getsize(os.path.join(root, file)) for root, _, files in os.walk(folder) for file in files)

if PRUNE_CHECKPOINTS:
    freed = 0
    for run in sorted(os.listdir(f'{STORE}/{NAME}')):
        status_file = f'{STORE}/{NAME}/{run}/status.json'
        if not os.path.isfile(status_file) or json.load(open(status_file))['state'] != 'done':
            continue
        output = f'{STORE}/{NAME}/{run}/output'
        for checkpoint in sorted(os.listdir(output)) if os.path.isdir(output) else []:
            if checkpoint.startswith('checkpoint-'):
                freed += folder_bytes(f'{output}/{checkpoint}')
                shutil.rmtree(f'{output}/{checkpoint}')
                print(f'deleted {run}/output/{checkpoint}')
    print(f'freed {freed / 2**30:.2f} GiB')
print(f'the run store holds {folder_bytes(STORE) / 2**30:.2f} GiB ({STORE})')
if PLATFORM == 'colab':
    from google.colab import drive
    drive.flush_and_unmount()
    print('Google Drive flushed and unmounted: the store is safe. Run the Drive and secrets cell to go on.')`),
];

export function notebookJson(cells: Cell[] = CELLS): string {
  const notebook = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      accelerator: 'GPU',
      colab: { provenance: [], gpuType: 'T4' },
      kernelspec: { display_name: 'Python 3', language: 'python', name: 'python3' },
      language_info: { name: 'python' },
    },
    cells: cells.map((cell) => {
      const base = { id: cell.id, metadata: {}, source: lines(cell.source) };
      return cell.type === 'markdown' ? { cell_type: 'markdown', ...base } : { cell_type: 'code', ...base, execution_count: null, outputs: [] };
    }),
  };
  return `${JSON.stringify(notebook, null, 1)}\n`;
}

function lines(text: string): string[] {
  const parts = text.split('\n');
  return parts.map((line, i) => (i < parts.length - 1 ? `${line}\n` : line));
}
