// Resolves a branch, tag or commit of a Hub repo to its full commit SHA.
import { datasetInfo, modelInfo } from '@huggingface/hub';
import { RemoteError } from '../errors.ts';
import { libParams, toRemoteError, type HubContext, type RepoRef } from './client.ts';

const COMMIT = /^[0-9a-f]{40}$/;

export async function resolveCommit(ctx: HubContext, repo: RepoRef, revision = 'main'): Promise<string> {
  let sha: string | undefined;
  try {
    const params = { ...libParams(ctx), name: repo.id, revision, additionalFields: ['sha'] as ['sha'] };
    sha = repo.type === 'dataset' ? (await datasetInfo(params)).sha : (await modelInfo(params)).sha;
  } catch (error) {
    throw toRemoteError(error, ctx, { repo, action: `resolving ${repo.id}@${revision}` });
  }
  if (!sha || !COMMIT.test(sha)) {
    throw new RemoteError(`the Hub gave no commit SHA for ${repo.id}@${revision} (got ${JSON.stringify(sha)})`, {
      hint: 'if HF_ENDPOINT points to a mirror, check that it serves /api/models/<id>/revision/<rev>',
    });
  }
  return sha;
}
