import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ImageMetadataError, parseImageMetadataYaml, stringifyImageMetadataYaml } from './image-metadata-yaml.js';

const METADATA = `architecture: x86_64
creation_date: 1700000000
properties:
  os: busybox
  release: 1.10
templates:
  /etc/hosts:
    when: [create, copy]
    template: hosts.tpl
  /etc/network/interfaces:
    when: [create]
    create_only: yes
    template: interfaces.tpl
    properties:
      greeting: Welcome
`;

test('metadata.yaml is read as text: numbers stay strings in maps, zero values for missing fields', () => {
  const meta = parseImageMetadataYaml(METADATA);
  assert.deepEqual(meta, {
    architecture: 'x86_64',
    creation_date: 1700000000,
    expiry_date: 0,
    properties: { os: 'busybox', release: '1.10' },
    templates: {
      '/etc/hosts': { when: ['create', 'copy'], create_only: false, template: 'hosts.tpl', properties: {} },
      '/etc/network/interfaces': { when: ['create'], create_only: true, template: 'interfaces.tpl', properties: { greeting: 'Welcome' } },
    },
  });
  assert.deepEqual(parseImageMetadataYaml(''), { architecture: '', creation_date: 0, expiry_date: 0, properties: {}, templates: {} });
});

test('a round trip keeps templates and quotes what must stay text', () => {
  const meta = parseImageMetadataYaml(METADATA);
  const text = stringifyImageMetadataYaml({ ...meta, properties: { release: '1.35', flag: 'true', description: 'a: b' } });
  assert.match(text, /^architecture: x86_64\ncreation_date: 1700000000\nexpiry_date: 0\nproperties:\n/);
  const back = parseImageMetadataYaml(text);
  assert.deepEqual(back.properties, { release: '1.35', flag: 'true', description: 'a: b' });
  assert.deepEqual(back.templates, meta.templates);
  assert.doesNotMatch(stringifyImageMetadataYaml({ ...meta, templates: {} }), /templates/);
});

test('shape errors are ImageMetadataError with the field named', () => {
  const fails = (yaml: string, re: RegExp) => assert.throws(() => parseImageMetadataYaml(yaml), (e: unknown) => e instanceof ImageMetadataError && re.test(e.message));
  fails(': [', /^Failed to parse metadata.yaml/);
  fails('- a list\n', /not a map/);
  fails('templates: [1]', /templates must be a map/);
  fails('creation_date: soon\n', /creation_date must be an integer/);
  fails('architecture: [a]\n', /architecture must be a string/);
  fails('properties:\n  a: [1]\n', /properties.a must be a string/);
  fails('templates:\n  /x:\n    when: create\n', /templates.\/x.when must be a list of strings/);
  fails('templates:\n  /x:\n    create_only: maybe\n', /templates.\/x.create_only must be a boolean/);
});
