import { readdir, readFile } from 'node:fs/promises';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** The numbered files `NNNN_name.sql` of one folder, in order; two files with one number are refused. */
export async function loadMigrationFiles(dir: string): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => FILE.test(file)).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const [, number, name] = FILE.exec(file)!;
    const version = Number(number);
    if (migrations.some((m) => m.version === version)) throw new Error(`two migrations numbered ${number} in ${dir}`);
    migrations.push({ version, name: name!, sql: await readFile(`${dir}/${file}`, 'utf8') });
  }
  return migrations;
}
