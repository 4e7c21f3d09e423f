/**
 * The part of kustomize our manifests use, so their tests run where kubectl is not
 * installed: resources (files and directories), configMapGenerator with files, and
 * strategic-merge patches. Generated names get no hash suffix here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type K8sObject = Record<string, any>;

interface Kustomization {
  resources?: string[];
  configMapGenerator?: Array<{ name: string; namespace?: string; files?: string[] }>;
  patches?: Array<{ path: string }>;
}

export function readKustomization(dir: string): Kustomization {
  return parse(fs.readFileSync(path.join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
}

/** The files a kustomization names, resolved: resources, generator files, patches. */
export function referencedFiles(dir: string): string[] {
  const k = readKustomization(dir);
  return [
    ...(k.resources ?? []),
    ...(k.configMapGenerator ?? []).flatMap((g) => (g.files ?? []).map((f) => f.split('=').at(-1)!)),
    ...(k.patches ?? []).map((p) => p.path),
  ].map((f) => path.resolve(dir, f));
}

/** `key=file` or `file` (key: the file's name) of a configMapGenerator entry. */
export function generatorFile(entry: string): { key: string; file: string } {
  const [key, file] = entry.includes('=') ? entry.split('=') : [path.basename(entry), entry];
  return { key: key!, file: file! };
}

export function render(dir: string): K8sObject[] {
  const k = readKustomization(dir);
  const out: K8sObject[] = [];
  for (const r of k.resources ?? []) {
    const p = path.resolve(dir, r);
    if (fs.statSync(p).isDirectory()) out.push(...render(p));
    else out.push(...parseAllDocuments(fs.readFileSync(p, 'utf8')).map((d) => d.toJS() as K8sObject));
  }
  for (const g of k.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const entry of g.files ?? []) {
      const { key, file } = generatorFile(entry);
      data[key] = fs.readFileSync(path.resolve(dir, file), 'utf8');
    }
    const metadata = g.namespace ? { name: g.name, namespace: g.namespace } : { name: g.name };
    out.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata, data });
  }
  for (const p of k.patches ?? []) {
    const patch = parse(fs.readFileSync(path.resolve(dir, p.path), 'utf8')) as K8sObject;
    const target = out.find(
      (o) =>
        o['kind'] === patch['kind'] &&
        o['metadata'].name === patch['metadata'].name &&
        o['metadata'].namespace === patch['metadata'].namespace,
    );
    if (!target) throw new Error(`${p.path}: no ${patch['kind']} ${patch['metadata'].name} to patch`);
    merge(target, patch);
  }
  return out;
}

const isMap = (v: unknown): v is K8sObject => typeof v === 'object' && v !== null && !Array.isArray(v);
const named = (v: unknown): v is K8sObject[] => Array.isArray(v) && v.every((i) => isMap(i) && 'name' in i);

/** Strategic merge as far as we use it: maps merge, lists of named items merge by name. */
function merge(target: K8sObject, patch: K8sObject): void {
  for (const [key, value] of Object.entries(patch)) {
    const current = target[key];
    if (isMap(current) && isMap(value)) {
      merge(current, value);
    } else if (named(current) && named(value)) {
      for (const item of value) {
        const same = current.find((c) => c['name'] === item['name']);
        if (same) merge(same, item);
        else current.push(item);
      }
    } else {
      target[key] = value;
    }
  }
}
