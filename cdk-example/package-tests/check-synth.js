// Checks a consumer app's cloud assembly: the stack has the provider (with the Lambda package the npm package
// carries, byte for byte dist/bootstrap.zip), its topic, the member and the StackSet; with a second template,
// that both are the same (the Python package synthesizes what the npm package does).
//
//   node check-synth.js ASSEMBLY_DIR [OTHER_TEMPLATE_JSON]
const assert = require('assert').strict;
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const [assembly, other] = process.argv.slice(2);
const stack = 'ConsumerStack';
const template = JSON.parse(fs.readFileSync(path.join(assembly, `${stack}.template.json`), 'utf8'));
const ofType = (type) => Object.values(template.Resources).filter((r) => r.Type === type);

const [member, ...moreMembers] = ofType('Custom::SecurityHubMemberAccount');
assert.equal(moreMembers.length, 0);
assert.equal(member.Properties.AccountId, '222222222222');
assert.deepEqual(member.Properties.Regions, ['us-east-1', 'eu-west-1']);
assert.equal(ofType('AWS::Lambda::Function').length, 1);
assert.equal(ofType('AWS::SNS::Topic').length, 1);
// addAlarms(): refused requests, failed invocations, and the membership watch's departed members.
assert.equal(ofType('AWS::CloudWatch::Alarm').length, 3);
const [stackSet] = ofType('AWS::CloudFormation::StackSet');
assert.match(stackSet.Properties.TemplateBody, /Type: Custom::SecurityHubMemberAccount/);

const sha256 = (file) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const assets = JSON.parse(fs.readFileSync(path.join(assembly, `${stack}.assets.json`), 'utf8'));
const zips = Object.values(assets.files).filter((a) => a.source.path.endsWith('.zip'));
assert.equal(zips.length, 1, 'one zip asset: the Lambda package');
assert.equal(sha256(path.join(assembly, zips[0].source.path)), sha256(path.join(__dirname, '..', '..', 'dist', 'bootstrap.zip')),
  'the Lambda code is the bootstrap.zip the package carries');

if (other !== undefined) {
  assert.deepEqual(template, JSON.parse(fs.readFileSync(other, 'utf8')), `${assembly} and ${other} differ`);
}
console.log(`${stack}: provider, topic, member and StackSet as expected${other ? `; the same template as ${path.basename(other)}` : ''}`);
