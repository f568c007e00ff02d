/** The sum of the samples on `url`'s /metrics whose line `match` accepts (comments skipped). */
export async function metricSum(url: string, match: (line: string) => boolean): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#') && match(l))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}
