/** Where this copy of ops is installed; set once by main before any command runs. */
export interface Installation {
  version: string;
  /** Folder holding package.json and templates/. */
  packageRoot: string;
}

let installation: Installation;

export function setInstallation(install: Installation): void {
  installation = install;
}

/** A file shipped with ops (templates/...). */
export function packageFile(relativePath: string): string {
  return `${installation.packageRoot.replace(/\/?$/, '/')}${relativePath}`;
}

export function installedVersion(): string {
  return installation.version;
}
