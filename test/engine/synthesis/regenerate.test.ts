// regenerate on samples made with learned artifacts (the type's anomaly embedding + spatial
// encoder) and every mask source that is a function of its seed: real, perlin (also kept on an
// Otsu foreground) and learned (pinned to its mask-embedding artifact).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeTempDir } from '../../fixtures/temp-dir';
import { openProject, type Project } from '../../../src/main/store/project';
import { getSample } from '../../../src/main/store/samples';
import { LocalJobs, runAugment } from '../../../src/main/augment';
import { learnMask } from '../../../src/engine/anomaly/learn-mask';
import { regenerateSample } from '../../../src/engine/synthesis/regenerate';
import { makeSynthesisFixture } from './fixture';

const tmp = makeTempDir('regenerate');
after(() => tmp.cleanup());

function setTypeSettings(project: Project, name: string, settings: Record<string, unknown>): void {
  project.db.prepare('UPDATE defect_types SET settings_json = ? WHERE name = ?').run(JSON.stringify(settings), name);
}

test('samples made with learned artifacts regenerate bit-identically with real, Perlin (on a foreground) and learned masks', async () => {
  const fx = await makeSynthesisFixture(join(tmp.dir, 'p'));
  const project = openProject(fx.projectDir);
  const jobs = new LocalJobs(project.db, { threads: 1 });
  const settings = { learning: { defect: { steps: 6, variants: 2, previewEvery: 0 }, mask: { steps: 6, variants: 2 } }, maskSampling: { steps: 4, threshold: 0.2 } };
  project.db.prepare('UPDATE project SET settings_json = ? WHERE id = 1').run(JSON.stringify(settings));
  const base = { formats: ['mvtec'] as const, model: fx.modelDir, seed: 9, steps: 2, adapt: false as const };
  try {
    setTypeSettings(project, 'hole', { maskSource: 'perlin', foreground: 'otsu' });
    setTypeSettings(project, 'scratch', { maskSource: 'real' });
    await runAugment(project, { ...base, perType: 1, out: join(tmp.dir, 'out 1') }, jobs);
    setTypeSettings(project, 'hole', { maskSource: 'learned' });
    setTypeSettings(project, 'scratch', { maskSource: 'perlin' });
    await runAugment(project, { ...base, perType: 2, out: join(tmp.dir, 'out 2') }, jobs);

    const ids = project.db.prepare('SELECT id FROM samples ORDER BY id').pluck().all() as number[];
    const origins = ids.map((id) => getSample(project, id).lineage!.maskSource);
    assert.deepEqual(
      origins.map((o) => [o['kind'], o['foregroundMode']]),
      [
        ['perlin', 'otsu'],
        ['real', 'none'],
        ['learned', 'none'],
        ['perlin', 'none'],
      ],
    );
    // the Otsu foreground constraint ran (the kept share is recorded), the learned mask names its artifact
    assert.ok((origins[0]!['foreground'] as { kept: number }).kept >= 0.5);
    const maskArtifact = origins[2]!['artifactId'] as number;
    assert.ok(Number.isInteger(maskArtifact));

    // a newer mask embedding of 'hole' does not change how its sample is made again
    await learnMask({ project, type: 'wood/hole', modelDir: fx.modelDir, settings: { steps: 3, variants: 1, seed: 5 } });
    for (const id of ids) {
      const sample = getSample(project, id);
      assert.ok(sample.lineage!.artifactIds.length >= 1, `sample ${id} names its learned embedding`);
      const report = await regenerateSample(project, id, { appVersion: 'test', load: { intraOpNumThreads: 1 } });
      assert.equal(report.identical, true, `sample ${id} (${String(sample.lineage!.maskOrigin)})`);
      assert.equal(report.maskOrigin.identical, true);
    }

    // the same lineage with another mask seed: another mask, reported as different
    const row = project.db.prepare('SELECT sampler_json FROM lineage WHERE sample_id = ?').get(ids[1]) as { sampler_json: string };
    const changed = JSON.parse(row.sampler_json);
    changed.recipe.mask.seed = (changed.recipe.mask.seed + 1) >>> 0;
    project.db.prepare('UPDATE lineage SET sampler_json = ? WHERE sample_id = ?').run(JSON.stringify(changed), ids[1]);
    const other = await regenerateSample(project, ids[1]!, { appVersion: 'test', load: { intraOpNumThreads: 1 } });
    assert.equal(other.mask.identical, false);
    assert.equal(other.maskOrigin.identical, false);
  } finally {
    project.close();
  }
});
