import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TemplateError, type TemplateContext, isTrue, render, toText } from './pongo.js';

const config: Record<string, string> = { 'user.foo': 'bar\n', 'security.privileged': 'false', 'user.n': '3' };
const ctx: TemplateContext = {
  trigger: 'create',
  path: '/etc/hostname',
  container: { name: 'c1', type: 'container', architecture: 'x86_64', ephemeral: 'false', privileged: 'false' },
  instance: { name: 'c1', type: 'container', architecture: 'x86_64', ephemeral: 'false', privileged: 'false' },
  config,
  devices: { eth0: { type: 'nic', network: 'lxdbr0' }, root: { type: 'disk', path: '/', pool: 'default' } },
  properties: { foo: 'bar', empty: '' },
  config_get: (k, d) => (typeof k === 'string' && Object.hasOwn(config, k) ? config[k]!.replace(/[\r\n]+$/, '') : d),
  list: ['a', 'b', 'c'],
};
const r = (tpl: string, c: TemplateContext = ctx) => render(tpl, c);

describe('pongo2 subset: variables', () => {
  test('the busybox image templates', () => {
    assert.equal(r('{{ container.name }}\n'), 'c1\n');
    assert.equal(
      r('127.0.0.1\tlocalhost\n127.0.1.1\t{{ container.name }}\n::1\t\tlocalhost ip6-localhost ip6-loopback\n'),
      '127.0.0.1\tlocalhost\n127.0.1.1\tc1\n::1\t\tlocalhost ip6-localhost ip6-loopback\n',
    );
  });

  test('dotted paths, subscripts, instance/container maps, trigger, path, properties', () => {
    assert.equal(r('{{instance.name}}/{{ container.type }}/{{ instance.architecture }}'), 'c1/container/x86_64');
    assert.equal(r('{{ trigger }} {{ path }} {{ properties.foo }}'), 'create /etc/hostname bar');
    assert.equal(r('{{ devices.eth0.network }} {{ devices["root"].pool }} {{ config["user.foo"] }}'), 'lxdbr0 default bar\n');
    assert.equal(r('{{ list.1 }}{{ list[2] }}'), 'bc');
  });

  test('undefined variables and attributes render as nothing; the prototype chain is not reachable', () => {
    assert.equal(r('[{{ nope }}][{{ container.nope }}][{{ nope.deeper.still }}]'), '[][][]');
    assert.equal(r('[{{ container.constructor }}][{{ list.length }}][{{ config.__proto__ }}]'), '[][][]');
  });

  test('config_get: value without trailing newline, default when unset', () => {
    assert.equal(r('{{ config_get("user.foo", "x") }}|{{ config_get("user.unset", "dflt") }}|{{ config_get("user.unset", "") }}'), 'bar|dflt|');
    assert.equal(r("{{ config_get('user.n', '0') }}"), '3');
  });

  test('literals and printing (bools as True/False, maps and lists as Go prints them)', () => {
    assert.equal(r('{{ "a\\"b" }} {{ \'x\' }} {{ 42 }} {{ 1.5 }} {{ true }} {{ False }} [{{ nil }}]'), 'a"b x 42 1.5 True False []');
    assert.equal(r('{{ list }} {{ properties }}'), '[a b c] map[empty: foo:bar]');
    assert.equal(toText({ b: 1, a: [true] }), 'map[a:[True] b:1]');
  });

  test('operators', () => {
    assert.equal(r('{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 / 2 }} {{ 7 % 4 }} {{ -3 + 1 }} {{ "a" + "b" }}'), '7 9 3 3 -2 ab');
    assert.equal(r('{{ 1 == 1 }} {{ "1" == 1 }} {{ 2 > 1 and 1 < 2 }} {{ not true or false }} {{ !false && true }}'), 'True False True False True');
    assert.equal(r('{{ "b" in list }} {{ "z" not in list }} {{ "oo" in "foo" }} {{ "eth0" in devices }}'), 'True True True True');
    assert.equal(r('{{ 1 != 2 }} {{ 1 <> 1 }} {{ 2 >= 2 }} {{ 3 <= 2 }}'), 'True False True False');
  });
});

describe('pongo2 subset: filters', () => {
  test('default, default_if_none, case, length, join, first/last, cut, add, yesno, slice, truncatechars', () => {
    assert.equal(r('{{ nope|default:"x" }} {{ properties.empty|default:"e" }} {{ properties.foo|default:"x" }}'), 'x e bar');
    assert.equal(r('[{{ nope|default_if_none:"n" }}][{{ properties.empty|default_if_none:"n" }}]'), '[n][]');
    assert.equal(r('{{ "Hello"|lower }} {{ "Hello"|upper }} {{ "hello world"|title }} {{ "abc"|capfirst }}'), 'hello HELLO Hello World Abc');
    assert.equal(r('{{ list|length }} {{ "héllo"|length }} {{ list|join:"," }} {{ list|first }}{{ list|last }}'), '3 5 a,b,c ac');
    assert.equal(r('{{ "a-b-c"|cut:"-" }} {{ 1|add:2 }} {{ "a"|add:"b" }} {{ true|yesno }} {{ nope|yesno:"y,n,m" }}'), 'abc 3 ab yes m');
    assert.equal(r('{{ "abcdef"|slice:"1:3" }} {{ "abcdefgh"|truncatechars:6 }} {{ "<b>x</b>"|striptags }}'), 'bc abc... x');
    assert.equal(r('{{ "<a & \'b\'>"|escape }} {{ "x"|safe }} {{ "a,b"|split:","|join:"+" }}'), '&lt;a &amp; &#39;b&#39;&gt; x a+b');
    assert.equal(r('{{ config_get("user.n", "0")|integer|add:1 }}'), '4');
    assert.equal(r('{{ 7|stringformat:"%03d" }} {{ "x"|stringformat:"[%-3s]" }}'), '007 [x  ]');
  });

  test('filters chain and bind tighter than operators', () => {
    assert.equal(r('{{ nope|default:"a"|upper }} {{ "a" + "b"|upper }}'), 'A aB');
  });

  test('an unknown filter is a syntax error', () => {
    assert.throws(() => r('{{ x|nosuchfilter }}'), (e: unknown) => e instanceof TemplateError && /filter 'nosuchfilter' does not exist/.test(e.message));
  });
});

describe('pongo2 subset: tags', () => {
  test('if / elif / else with pongo2 truthiness', () => {
    const t = '{% if config_get("user.mode", "") == "a" %}A{% elif properties.foo %}F{% else %}E{% endif %}';
    assert.equal(r(t), 'F');
    assert.equal(r('{% if properties.empty %}x{% else %}empty{% endif %}'), 'empty');
    assert.equal(r('{% if not nope %}no{% endif %}{% if list %}L{% endif %}'), 'noL');
    assert.equal(r('{% if instance.privileged == "true" %}priv{% else %}unpriv{% endif %}'), 'unpriv');
    for (const v of ['', 0, false, null, undefined, [], {}]) assert.equal(isTrue(v), false, JSON.stringify(v));
  });

  test('for over lists, maps (in key order), with forloop, reversed, sorted, empty, nested', () => {
    assert.equal(r('{% for x in list %}{{ forloop.Counter }}{{ x }}{% if not forloop.Last %},{% endif %}{% endfor %}'), '1a,2b,3c');
    assert.equal(r('{% for name, dev in devices %}{{ name }}={{ dev.type }};{% endfor %}'), 'eth0=nic;root=disk;');
    assert.equal(r('{% for x in list reversed %}{{ x }}{% endfor %}'), 'cba');
    assert.equal(r('{% for x in nope %}x{% empty %}none{% endfor %}'), 'none');
    assert.equal(r('{% for a in list %}{% for b in list %}{% if forloop.First %}{{ forloop.Parentloop.Counter0 }}{% endif %}{% endfor %}{% endfor %}'), '012');
    assert.equal(r('{% for k, v in config %}{% if k == "user.n" %}{{ v }}{% endif %}{% endfor %}'), '3');
  });

  test('set, with, comments, verbatim, autoescape off (as LXD wraps templates)', () => {
    assert.equal(r('{% set h = instance.name + ".lan" %}{{ h }}'), 'c1.lan');
    assert.equal(r('{% with a=1 b="x" %}{{ a }}{{ b }}{% endwith %}[{{ a }}]'), '1x[]');
    assert.equal(r('a{# hidden #}b{% comment %}gone {{ x }}{% endcomment %}c'), 'abc');
    assert.equal(r('{% verbatim %}{{ not rendered }}{% endverbatim %}'), '{{ not rendered }}');
    assert.equal(r('{% autoescape off %}{{ "<x>" }}{% endautoescape %}'), '<x>');
  });

  test('whitespace control', () => {
    assert.equal(r('a  {%- if true -%}  b  {%- endif -%}  c'), 'abc');
    assert.equal(r('x\n{{- instance.name -}}\ny'), 'xc1y');
  });

  test('include through the loader, with depth limit', () => {
    const files: Record<string, string> = { 'part.tpl': '[{{ instance.name }}]', 'self.tpl': '{% include "self.tpl" %}' };
    const load = (n: string) => {
      if (!(n in files)) throw new Error('not found');
      return files[n]!;
    };
    assert.equal(render('<{% include "part.tpl" %}>', ctx, { load }), '<[c1]>');
    assert.throws(() => render('{% include "self.tpl" %}', ctx, { load }), /nests too deep/);
    assert.throws(() => render('{% include "missing" %}', ctx, { load }), /cannot include 'missing': not found/);
    assert.throws(() => render('{% include "part.tpl" %}', ctx), /no template loader/);
  });

  test('syntax errors carry the line', () => {
    assert.throws(() => r('ok\n{% if x %}\nnever closed'), (e: unknown) => e instanceof TemplateError && e.line === 2 && /'if' without 'endif'/.test(e.message));
    assert.throws(() => r('a\nb {{ x'), (e: unknown) => e instanceof TemplateError && e.line === 2 && /not closed/.test(e.message));
    assert.throws(() => r('{% frobnicate %}'), /tag 'frobnicate' does not exist/);
    assert.throws(() => r('{% endif %}'), /unexpected 'endif'/);
    assert.throws(() => r('{{ 1 + }}'), /unexpected end of expression/);
    assert.throws(() => r('{{ "abc }}'), /unterminated string|not closed/);
    assert.throws(() => r('{{ nope() }}'), /not a function/);
    assert.throws(() => r('{{ 1 / 0 }}'), /division by zero/);
  });

  test('a hostile template runs out of budget instead of hanging the agent', () => {
    const big = 'x'.repeat(1000);
    const c = { ...ctx, big };
    assert.throws(() => render('{% for a in big %}{% for b in big %}{% for c in big %}.{% endfor %}{% endfor %}{% endfor %}', c), /too long|too large/);
  });
});
