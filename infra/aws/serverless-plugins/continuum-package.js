'use strict';
// Packaging of the core for Lambda, around serverless-python-requirements (listed before it in
// serverless.yml, so each of these hooks runs before the plugin's own hook for the same event):
//  1. before it installs: build the core's wheel and write the requirements file it installs
//     (the wheel with the Lambda extras), so pip resolves the dependencies from pyproject.toml
//     for the target platform and byte-compiles everything with the Lambda Python (3.12);
//  2. before it injects the result into the zip: slim it (infra/aws/slim.py).
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

class ContinuumPackage {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = {
      'before:package:createDeploymentArtifacts': () => this.prepare(),
      'after:package:createDeploymentArtifacts': () => this.slim(),
    };
  }

  get settings() {
    const custom = this.serverless.service.custom || {};
    return { ...(custom.continuumPackage || {}), python: (custom.pythonRequirements || {}).pythonBin || 'python3.12' };
  }

  run(args) {
    const { python } = this.settings;
    execFileSync(python, args, { cwd: this.serverless.serviceDir, stdio: 'inherit' });
  }

  prepare() {
    const root = this.serverless.serviceDir;
    const wheels = path.join(root, '.serverless', 'wheels');
    fs.rmSync(wheels, { recursive: true, force: true });
    // setuptools builds in build/ and keeps what it copied there before: modules since moved or
    // deleted would ride along into the wheel. build/ is only this build's scratch space.
    fs.rmSync(path.join(root, 'build'), { recursive: true, force: true });
    this.run(['-m', 'pip', 'wheel', '--quiet', '--no-deps', '--wheel-dir', wheels, '.']);
    const wheel = fs.readdirSync(wheels).find((name) => name.endsWith('.whl'));
    if (!wheel) throw new Error('continuum-package: building the core wheel produced nothing');
    const extras = String(this.settings.extras || 'lambda').replace(/\s+/g, '');
    const target = path.join(root, '.serverless', 'requirements-lambda.txt');
    fs.writeFileSync(target, `${path.join(wheels, wheel)}[${extras}]\n`);
    this.serverless.cli.log(`continuum-package: ${wheel} with extras [${extras}]`);
    // The handlers' own bytecode too (Lambda cannot write __pycache__ at run time).
    // unchecked-hash: the zip resets file times, so timestamp-checked bytecode would be ignored.
    this.run(['-m', 'compileall', '-q', '--invalidation-mode', 'unchecked-hash', 'functions']);
  }

  slim() {
    const requirements = path.join(this.serverless.serviceDir, '.serverless', 'requirements');
    if (!fs.existsSync(requirements)) throw new Error(`continuum-package: ${requirements} is missing`);
    this.run([path.join('infra', 'aws', 'slim.py'), requirements]);
  }
}

module.exports = ContinuumPackage;
