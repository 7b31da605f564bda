FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY worker worker
COPY classifiers classifiers
COPY letter_templates letter_templates
COPY config config
RUN pip install --no-cache-dir -e .
# Templates and the landlord profile are read from the source tree layout.
ENV COMPLAINTS_LANDLORD=/app/config/landlord.toml
CMD ["complaints", "worker"]
