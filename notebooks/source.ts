// The one source of truth of notebooks/tok-boy.ipynb: `npm run notebook` writes it, and a test fails when
// the committed notebook differs, uses a harness command or flag that does not exist, or carries a secret.

export type Cell = { type: 'markdown' | 'code'; source: string; form?: boolean };

const md = (source: string): Cell => ({ type: 'markdown', source });
const code = (source: string): Cell => ({ type: 'code', source });

export const EXPERIMENT = 'experiments/tok-boy.yaml';

export const CELLS: Cell[] = [
  md(`# TOK boy on a free GPU with \`harness\`

Trains the character LoRA of the series (SDXL base 1.0 + fp16-fix VAE, DreamBooth + LoRA through the
real diffusers script) and its variants, samples the nine scenes on fixed seeds, scores identity
consistency, and writes a comparison report. Run the cells top to bottom on a Colab or Kaggle GPU
runtime. The run store lives on persistent storage, so a lost session resumes where it stopped: run
the cells again.`),
  md(`## 1. The GPU
What works where: **P100** (compute capability 6.0, free Colab/Kaggle): fp16 only, torch from the CUDA
12.6 builds (the last that carry sm_60), 8-bit Adam works; **T4** (7.5): fp16; **L4 / A100 / H100**
(8.0+): bf16 possible as well.`),
  code(`!nvidia-smi --query-gpu=name,compute_cap,memory.total,driver_version --format=csv
import subprocess
gpu = subprocess.run(['nvidia-smi', '--query-gpu=name,compute_cap', '--format=csv,noheader'],
                     capture_output=True, text=True).stdout.strip().splitlines()
if not gpu:
    raise SystemExit('No GPU: choose a GPU runtime (Runtime > Change runtime type) and run again.')
name, cc = [part.strip() for part in gpu[0].split(',')]
major = int(cc.split('.')[0])
REQUIREMENTS = 'python/requirements-p100.txt' if major < 7 else 'python/requirements-cuda.txt'
print(f'{name}, compute capability {cc}:',
      'fp16 only (no bf16), torch cu126 build' if major < 7 else
      'fp16 (bf16 is emulated and slow: keep fp16)' if major < 8 else 'fp16 and bf16 both work')
print('Python requirements:', REQUIREMENTS)`),
  md(`## 2. Node.js and the harness
Colab's image carries no Debian \`nodejs\` package: this installs Node.js 20 from nodejs.org when the
runtime lacks Node ≥ 20, then clones the harness and installs it (\`npm ci\`).`),
  code(`#@title Where the harness comes from { display-mode: "form" }
HARNESS_GIT_URL = 'https://github.com/YOUR-ACCOUNT/harness.git'  #@param {type:"string"}
import os, re, subprocess
def node_major():
    try:
        return int(re.match(r'v(\\d+)', subprocess.run(['node', '--version'], capture_output=True, text=True).stdout).group(1))
    except Exception:
        return 0
if node_major() < 20:
    !curl -fsSL https://nodejs.org/dist/v20.18.1/node-v20.18.1-linux-x64.tar.xz | tar -xJ -C /usr/local --strip-components=1
!node --version
if not os.path.isdir('/content/harness' if os.path.isdir('/content') else 'harness'):
    !git clone --depth 1 {HARNESS_GIT_URL} harness
%cd harness
!npm ci --no-audit --no-fund
!npx harness --version`),
  md(`## 3. Python requirements for this GPU
Pinned versions; the training script at the pinned diffusers release needs the same release of the library.`),
  code(`!pip install -q -r {REQUIREMENTS}
!npx harness doctor`),
  md(`## 4. Persistent run store
Google Drive on Colab, \`/kaggle/working\` on Kaggle. Every finished run, checkpoint and sample stays
there; running the sweep again skips what is done and resumes what was interrupted.`),
  code(`import os
if 'COLAB_RELEASE_TAG' in os.environ:
    from google.colab import drive
    drive.mount('/content/drive')
    os.environ['HARNESS_STORE'] = '/content/drive/MyDrive/harness/runs'
elif 'KAGGLE_KERNEL_RUN_TYPE' in os.environ:
    os.environ['HARNESS_STORE'] = '/kaggle/working/runs'
else:
    os.environ['HARNESS_STORE'] = os.path.abspath('runs')
os.makedirs(os.environ['HARNESS_STORE'], exist_ok=True)
print('run store:', os.environ['HARNESS_STORE'])`),
  md(`## 5. Secrets
\`WANDB_API_KEY\` (live dashboards; without it runs are recorded offline and \`harness sync\` uploads
later) and \`HF_TOKEN\` (pushing to the Hub) come from Colab's *Secrets* panel or Kaggle's *Add-ons →
Secrets*. They are put into the environment and never printed.`),
  code(`import os
def secret(name):
    try:
        from google.colab import userdata
        return userdata.get(name)
    except Exception:
        pass
    try:
        from kaggle_secrets import UserSecretsClient
        return UserSecretsClient().get_secret(name)
    except Exception:
        return None
for name in ('WANDB_API_KEY', 'HF_TOKEN'):
    value = secret(name)
    if value:
        os.environ[name] = value
    print(name, 'is set' if value else 'is not set')`),
  md(`## 6. The dataset
11 square 1024×1024 PNGs of the character plus \`metadata.jsonl\` (\`file_name\`, \`prompt\`), in the folder
the experiment names (\`data/tok-boy\` beside the harness checkout). Upload them or copy them from Drive;
\`harness dataset check\` names every problem (size, format, captions, order) before a GPU minute is
spent. Without captions yet, \`harness caption\` writes them with BLIP and the trigger prefix.`),
  code(`#@title Dataset folder { display-mode: "form" }
DATASET = '/content/drive/MyDrive/harness/tok-boy'  #@param {type:"string"}
import os
os.makedirs('../data', exist_ok=True)
if os.path.isdir(DATASET) and not os.path.exists('../data/tok-boy'):
    os.symlink(DATASET, '../data/tok-boy')
CAPTION = False  #@param {type:"boolean"}
if CAPTION:
    !npx harness caption ../data/tok-boy
!npx harness dataset check ../data/tok-boy --experiment ${EXPERIMENT}`),
  md(`## 7. Set up, then sweep
\`setup\` downloads the training script at the pinned diffusers commit (and checks its sha256), snapshots
the pinned base model and VAE, and checks the Python environment. Try one run first (\`--variant baseline\`),
then the whole sweep. Interrupted? Run the cell again.`),
  code(`!npx harness setup ${EXPERIMENT}
!npx harness plan ${EXPERIMENT}`),
  code(`!npx harness sweep ${EXPERIMENT} --variant baseline`),
  code(`!npx harness sweep ${EXPERIMENT}`),
  md(`## 8. The report
Tables, loss curves and contact sheets: \`reports/tok-boy/report.md\`.`),
  code(`!npx harness report ${EXPERIMENT}
from IPython.display import Markdown, Image, display
import glob
# the report's text and tables (its images are files beside it: the contact sheets follow)
display(Markdown(open('reports/tok-boy/report.md').read()[:20000]))
for sheet in sorted(glob.glob('reports/tok-boy/**/*.png', recursive=True))[:12]:
    display(Image(filename=sheet, width=900))`),
  md(`## 9. Regression check and publishing
\`harness check\` compares the baseline's fixed-seed samples with the accepted goldens (exit 1 on a
regression); \`--accept\` makes the current samples the goldens. \`harness push\` publishes the LoRA with a
model card, samples and the report.`),
  code(`!npx harness check ${EXPERIMENT}`),
  code(`#@title Publish { display-mode: "form" }
VARIANT = 'baseline'  #@param {type:"string"}
REPO = 'YOUR-ACCOUNT/tok-boy-lora'  #@param {type:"string"}
!npx harness push ${EXPERIMENT} --variant {VARIANT} --repo {REPO} --private`),
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
    cells: cells.map((cell, i) => {
      const base = { id: `cell-${String(i + 1).padStart(2, '0')}`, metadata: {}, source: lines(cell.source) };
      return cell.type === 'markdown' ? { cell_type: 'markdown', ...base } : { cell_type: 'code', ...base, execution_count: null, outputs: [] };
    }),
  };
  return `${JSON.stringify(notebook, null, 1)}\n`;
}

function lines(text: string): string[] {
  const parts = text.split('\n');
  return parts.map((line, i) => (i < parts.length - 1 ? `${line}\n` : line));
}
