import { useEffect, useState } from 'preact/hooks';
import { JOB_STATUSES } from '../api-types.js';
import { formFromQuery, parseMetadata, queryFromForm, type JobFilterForm } from '../filters.js';

/** The filter form of the job explorer and the dead letters page; submitting puts the filter in the URL. */
export function FilterForm({
  query,
  onApply,
  showStatus = true,
  idPrefix,
}: {
  query: URLSearchParams;
  onApply(query: URLSearchParams): void;
  showStatus?: boolean;
  idPrefix: string;
}) {
  const [form, setForm] = useState<JobFilterForm>(() => formFromQuery(query));
  const [error, setError] = useState<string | null>(null);
  const queryText = query.toString();
  useEffect(() => setForm(formFromQuery(query)), [queryText]);

  const set = (patch: Partial<JobFilterForm>) => setForm((f) => ({ ...f, ...patch }));
  const id = (name: string) => `${idPrefix}-${name}`;

  const submit = (event: Event) => {
    event.preventDefault();
    const problem = parseMetadata(form.metadata).error;
    if (problem) {
      setError(`Metadata: ${problem}. Write it as key=value, several separated by commas.`);
      return;
    }
    setError(null);
    onApply(queryFromForm(form));
  };

  return (
    <form class="filters" onSubmit={submit} aria-label="Filter">
      {showStatus ? (
        <fieldset>
          <legend>Status</legend>
          <div class="checks">
            {JOB_STATUSES.map((s) => (
              <label key={s} class="check">
                <input
                  type="checkbox"
                  name="status"
                  value={s}
                  checked={form.statuses.includes(s)}
                  onChange={(e) =>
                    set({
                      statuses: (e.target as HTMLInputElement).checked
                        ? [...form.statuses, s]
                        : form.statuses.filter((x) => x !== s),
                    })
                  }
                />
                {s.replace('_', ' ')}
              </label>
            ))}
          </div>
        </fieldset>
      ) : null}
      <div class="fields">
        <div class="field">
          <label for={id('metadata')}>Metadata</label>
          <input
            id={id('metadata')}
            type="text"
            placeholder="order=42, customer=acme"
            value={form.metadata}
            onInput={(e) => set({ metadata: (e.target as HTMLInputElement).value })}
            aria-describedby={id('metadata-help')}
          />
          <small id={id('metadata-help')}>key=value; all must match</small>
        </div>
        <div class="field">
          <label for={id('host')}>Target host</label>
          <input
            id={id('host')}
            type="text"
            placeholder="api.example.com"
            value={form.targetHost}
            onInput={(e) => set({ targetHost: (e.target as HTMLInputElement).value })}
          />
        </div>
        <div class="field">
          <label for={id('after')}>Created after</label>
          <input
            id={id('after')}
            type="datetime-local"
            value={form.createdAfter}
            onInput={(e) => set({ createdAfter: (e.target as HTMLInputElement).value })}
          />
        </div>
        <div class="field">
          <label for={id('before')}>Created before</label>
          <input
            id={id('before')}
            type="datetime-local"
            value={form.createdBefore}
            onInput={(e) => set({ createdBefore: (e.target as HTMLInputElement).value })}
          />
        </div>
      </div>
      <div class="actions">
        <button type="submit">Search</button>
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setForm(formFromQuery(new URLSearchParams()));
            onApply(new URLSearchParams());
          }}
        >
          Clear
        </button>
      </div>
      {error ? (
        <p class="field-error" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}
