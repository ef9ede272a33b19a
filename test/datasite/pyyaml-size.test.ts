import { pyYamlLoad } from '../../lib/datasite/pyyaml';
import { addUser, emitRuleSet, parseRuleSet, type RuleSet } from '../../lib/datasite/permissions';

describe('document size limits', () => {
  it('loads a large alias-free document (a review syft.pub.yaml after thousands of runs)', () => {
    let rs: RuleSet = { rules: [], terminal: false };
    for (let i = 0; i < 3000; i++) {
      rs = addUser(rs, `job-${i}/outputs/**`, 'read', 'do@example.com');
      rs = addUser(rs, `job-${i}/outputs/**`, 'read', 'ds@example.org');
    }
    const text = emitRuleSet(rs);
    const back = parseRuleSet(text);
    expect(back.ok).toBe(true);
    expect(back.ok && back.value.rules.length).toBe(3000);
  });
  it('still refuses an alias bomb that expands far beyond its own size', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 6; i++) lines.push(`${'bcdefg'[i]}: &${'bcdefg'[i]} [${Array(10).fill('*' + 'abcdef'[i]).join(', ')}]`);
    expect(() => pyYamlLoad(lines.join('\n') + '\n')).toThrow(/document too large/);
  });
});
